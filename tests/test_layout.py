"""Layout rules of the code (issue 10): no import circle, no application module over 500 lines.

The checker (`scripts/check_layout.py`) is tested on a small tree first, so that a green run on the project
means something.
"""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_checker():
    spec = importlib.util.spec_from_file_location("check_layout", ROOT / "scripts" / "check_layout.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_layout = _load_checker()


def _tree(tmp_path, files):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_a_circle_through_an_import_inside_a_function_is_found(tmp_path):
    root = _tree(tmp_path, {
        "funding/__init__.py": "",
        "funding/letters.py": "from . import tasks\n",
        "funding/tasks.py": "def run():\n    from .deadlines import sweep\n",
        "funding/deadlines.py": "from funding.letters import request\n",
        "funding/rules.py": "import funding.letters\n",
    })
    graph = check_layout.import_graph(root)
    assert graph["funding.tasks"] == {"funding.deadlines"}
    assert check_layout.import_circles(graph) == [["funding.deadlines", "funding.letters", "funding.tasks"]]


def test_one_way_imports_and_migrations_make_no_circle(tmp_path):
    root = _tree(tmp_path, {
        "indicators/__init__.py": "",
        "indicators/tasks.py": "from .evidence import upload\n",
        "indicators/evidence.py": "from hopen.tasking import enqueue_on_commit\n",
        "indicators/migrations/0001_initial.py": "from indicators import tasks\n",
        "hopen/__init__.py": "",
        "hopen/tasking.py": "",
    })
    assert check_layout.import_circles(check_layout.import_graph(root)) == []


def test_long_modules_are_listed_but_migrations_are_not(tmp_path):
    root = _tree(tmp_path, {
        "ami/__init__.py": "",
        "ami/views.py": "x = 1\n" * 501,
        "ami/forms.py": "x = 1\n" * 500,
        "ami/migrations/0001_initial.py": "x = 1\n" * 900,
    })
    assert check_layout.long_modules(root) == [("ami/views.py", 501)]


@pytest.mark.parametrize("check", ["circles", "length"])
def test_the_project_follows_the_layout_rules(check):
    if check == "circles":
        assert check_layout.import_circles(check_layout.import_graph()) == []
    else:
        assert check_layout.long_modules() == []
