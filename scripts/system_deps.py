#!/usr/bin/env python3
"""The Debian packages the test suite needs beyond the Python ones, installed when missing.

    python3 scripts/system_deps.py          # install what is missing (root: apt-get; passwordless sudo:
                                            # sudo apt-get), else print the command to run, in French

The one list, used by `make test` (scripts/launch.py) and by CI (.ci/run). Each package comes with the probe that
tells whether this machine already has what the tests use from it, so that a machine where the file is present
by other means (another distribution, a manual install) is left alone. Standard library only: it runs before
the virtual environment exists (.ci/run) and inside it (launch.py).
"""

import ctypes.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SystemPackage:
    name: str
    why: str
    paths: tuple[str, ...] = ()  # present when any of these files exists
    library: str = ""  # … or when the dynamic loader finds this library (ctypes.util.find_library)

    def is_present(self, *, exists=os.path.exists, find_library=ctypes.util.find_library) -> bool:
        if any(exists(path) for path in self.paths):
            return True
        return bool(self.library) and find_library(self.library) is not None


PACKAGES = (
    # tests/browser/conftest.py drives this very executable.
    SystemPackage("chromium", "navigateur des tests de bout en bout (Playwright)", paths=("/usr/bin/chromium",)),
    # WeasyPrint (letters, PDF) loads Pango through cffi.
    SystemPackage("libpango-1.0-0", "rendu des courriers PDF (WeasyPrint)", library="pango-1.0"),
    SystemPackage("libpangoft2-1.0-0", "rendu des courriers PDF (WeasyPrint)", library="pangoft2-1.0"),
    # The letters name « DejaVu Sans » first (templates/funding/letters/_base.html).
    SystemPackage(
        "fonts-dejavu-core", "police des courriers PDF",
        paths=("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf"),
    ),
    # python-magic: type sniffing of the uploaded documents (indicators/evidence.py).
    SystemPackage("libmagic1", "détection du type des pièces déposées (python-magic)", library="magic"),
    # A real clamd for the antivirus tests (local EICAR signature only: freshclam is never run).
    SystemPackage(
        "clamav-daemon", "antivirus des tests de dépôt (clamd)", paths=("/usr/sbin/clamd", "/usr/bin/clamd"),
    ),
)


def missing_packages(packages=PACKAGES, **probes) -> list[SystemPackage]:
    return [package for package in packages if not package.is_present(**probes)]


@dataclass(frozen=True)
class Plan:
    """What to do about the missing packages: `commands` to run (empty when nothing can or must be run here) and
    `message`, the French sentence for the person at the terminal ("" when nothing is missing)."""

    commands: tuple[tuple[str, ...], ...]
    message: str


def apt_commands(names, *, prefix=()) -> tuple[tuple[str, ...], ...]:
    environment = ("env", "DEBIAN_FRONTEND=noninteractive")
    return (
        (*prefix, *environment, "apt-get", "update", "-qq"),
        (*prefix, *environment, "apt-get", "install", "-y", "-qq", *names),
    )


def plan(missing, *, is_root: bool, has_apt: bool, passwordless_sudo: bool) -> Plan:
    """The decision, from plain facts about this machine: root → apt-get; passwordless sudo → sudo apt-get;
    otherwise nothing is run and the message lists the packages and the command to type."""
    if not missing:
        return Plan((), "")
    names = [package.name for package in missing]
    listing = "\n".join(f"  - {package.name} : {package.why}" for package in missing)
    if has_apt and is_root:
        return Plan(apt_commands(names), f"Installation des paquets système manquants pour les tests :\n{listing}")
    if has_apt and passwordless_sudo:
        return Plan(
            apt_commands(names, prefix=("sudo", "-n")),
            f"Installation (sudo) des paquets système manquants pour les tests :\n{listing}",
        )
    command = f"sudo apt-get install {' '.join(names)}"
    how = (
        f"Installez-les puis relancez « make test » :\n  {command}"
        if has_apt
        else "Installez leurs équivalents avec le gestionnaire de paquets de ce système, puis relancez « make test »."
    )
    return Plan((), f"Paquets système manquants pour les tests (pas de droits root ni de sudo sans mot de passe) :\n{listing}\n{how}")


def _passwordless_sudo() -> bool:
    if shutil.which("sudo") is None:
        return False
    try:
        return subprocess.run(["sudo", "-n", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def machine_plan() -> Plan:
    missing = missing_packages()
    if not missing:
        return Plan((), "")
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    return plan(
        missing, is_root=is_root, has_apt=shutil.which("apt-get") is not None,
        passwordless_sudo=not is_root and _passwordless_sudo(),
    )


def ensure() -> bool:
    """Install what is missing when this machine allows it; True when nothing is missing afterwards."""
    decided = machine_plan()
    if not decided.message:
        return True
    print(decided.message, file=sys.stderr, flush=True)
    for command in decided.commands:
        if subprocess.run(command, stdout=subprocess.DEVNULL).returncode != 0:
            print(f"Échec de : {' '.join(command)}", file=sys.stderr)
            return False
    return bool(decided.commands) and not missing_packages()


if __name__ == "__main__":
    sys.exit(0 if ensure() else 1)
