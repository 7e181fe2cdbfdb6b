"""`make test` from a clean clone (issue 16, item 1): the one list of system packages (scripts/system_deps.py),
which packages a machine lacks, and the decision — root: apt-get; passwordless sudo: sudo apt-get; otherwise a
French message naming the packages and the command. Nothing here runs apt: the decision takes plain facts."""

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("system_deps", ROOT / "scripts" / "system_deps.py")
system_deps = importlib.util.module_from_spec(spec)
spec.loader.exec_module(system_deps)

ALL_NAMES = ["chromium", "libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core", "libmagic1", "clamav-daemon"]


def probes(present_paths=(), libraries=()):
    return {
        "exists": lambda path: path in present_paths,
        "find_library": lambda name: f"lib{name}.so" if name in libraries else None,
    }


def named(*names):
    return [package for package in system_deps.PACKAGES if package.name in names]


def test_a_bare_machine_lacks_every_package_of_the_list():
    assert [p.name for p in system_deps.missing_packages(**probes())] == ALL_NAMES


def test_present_files_and_libraries_are_not_installed_again():
    missing = system_deps.missing_packages(
        **probes(present_paths={"/usr/bin/chromium", "/usr/sbin/clamd"}, libraries={"pango-1.0", "magic"})
    )
    assert [p.name for p in missing] == ["libpangoft2-1.0-0", "fonts-dejavu-core"]


def test_the_browser_tests_executable_is_the_probe_of_chromium():
    """tests/browser/conftest.py launches /usr/bin/chromium: a chromium elsewhere on the PATH does not count."""
    conftest = (ROOT / "tests" / "browser" / "conftest.py").read_text()
    assert 'CHROMIUM = "/usr/bin/chromium"' in conftest
    assert named("chromium")[0].paths == ("/usr/bin/chromium",)


def test_nothing_missing_runs_nothing_and_says_nothing():
    decided = system_deps.plan([], is_root=False, has_apt=True, passwordless_sudo=False)
    assert decided.commands == () and decided.message == ""


def test_root_installs_the_missing_packages_with_apt_get():
    decided = system_deps.plan(named("chromium", "libmagic1"), is_root=True, has_apt=True, passwordless_sudo=False)
    assert decided.commands == (
        ("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "update", "-qq"),
        ("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq", "chromium", "libmagic1"),
    )
    assert "chromium" in decided.message and "libmagic1" in decided.message


def test_passwordless_sudo_installs_through_sudo_without_prompting():
    decided = system_deps.plan(named("clamav-daemon"), is_root=False, has_apt=True, passwordless_sudo=True)
    assert [command[:2] for command in decided.commands] == [("sudo", "-n"), ("sudo", "-n")]
    assert decided.commands[-1][-4:] == ("install", "-y", "-qq", "clamav-daemon")


def test_without_root_nor_sudo_nothing_runs_and_the_message_gives_the_command_in_french():
    missing = named("chromium", "fonts-dejavu-core")
    decided = system_deps.plan(missing, is_root=False, has_apt=True, passwordless_sudo=False)
    assert decided.commands == ()
    assert "Paquets système manquants" in decided.message
    assert "  - chromium : navigateur des tests de bout en bout (Playwright)" in decided.message
    assert "sudo apt-get install chromium fonts-dejavu-core" in decided.message


def test_without_apt_the_message_asks_for_the_equivalents():
    decided = system_deps.plan(named("libmagic1"), is_root=True, has_apt=False, passwordless_sudo=True)
    assert decided.commands == ()
    assert "libmagic1" in decided.message and "apt-get" not in decided.message


def test_make_test_and_ci_use_this_one_list_and_repeat_no_package_name():
    """One list: scripts/launch.py (`make test`) and .ci/run call scripts/system_deps.py and name no package."""
    launch = (ROOT / "scripts" / "launch.py").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "system_deps.ensure()" in launch
    assert "python3 scripts/system_deps.py" in ci
    for text in (launch, ci):
        assert not re.search(r"apt-get install|dpkg -s", text)
        for name in ALL_NAMES:
            assert not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text.replace("/usr/bin/chromium", "")), name
