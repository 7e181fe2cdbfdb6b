"""The end of a « rebuild … [--check] » command over state kept on write (the attainment state, the ledger's sums per
beneficiary): the differences found, then the outcome — a failed check is an error (exit code 1)."""

from dataclasses import dataclass

from django.core.management.base import CommandError

SHOWN = 50


@dataclass(frozen=True)
class RebuildMessages:
    """The four outcomes, in French; `{n}` is the number of differences."""

    check_failed: str
    check_passed: str
    rebuilt: str
    unchanged: str


def report_rebuild(stdout, differences: list[str], *, check: bool, messages: RebuildMessages) -> None:
    for line in differences[:SHOWN]:
        stdout.write(line)
    if len(differences) > SHOWN:
        stdout.write(f"… et {len(differences) - SHOWN} autre(s) écart(s).")
    if check:
        if differences:
            raise CommandError(messages.check_failed.format(n=len(differences)))
        stdout.write(messages.check_passed)
    elif differences:
        stdout.write(messages.rebuilt.format(n=len(differences)))
    else:
        stdout.write(messages.unchanged)
