"""What a dry run found, line by line — shared by the bulk indicator entry and the referential imports: the three
actions of a line, the counts, and their French summary (each kind of plan names what it creates)."""

from dataclasses import dataclass, field
from typing import ClassVar

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"


def counted(number: int, singular: str, plural: str) -> str:
    """« 0 ligne », « 1 ligne », « 2 lignes »: in French 0 and 1 take the singular."""
    return f"{number} {singular if number < 2 else plural}"


def summary_of(created: int, updated: int, unchanged: int, words) -> str:
    """« 3 créations, 1 modification, 0 ligne inchangée » with `words` = ((singular, plural) × 3)."""
    return ", ".join(counted(n, *pair) for n, pair in zip((created, updated, unchanged), words, strict=True))


@dataclass
class Plan:
    changes: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    WORDS: ClassVar[tuple] = (("création", "créations"), ("modification", "modifications"),
                              ("ligne inchangée", "lignes inchangées"))

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def writes(self) -> list:
        return [change for change in self.changes if change.action != UNCHANGED]

    def count(self, action) -> int:
        return sum(1 for change in self.changes if change.action == action)

    @property
    def created(self) -> int:
        return self.count(CREATE)

    @property
    def updated(self) -> int:
        return self.count(UPDATE)

    @property
    def unchanged(self) -> int:
        return self.count(UNCHANGED)

    @property
    def summary(self) -> str:
        return summary_of(self.created, self.updated, self.unchanged, self.WORDS)
