"""The dependency rule holds: imports run from the top of config/layers.py's order down, libraries stay plain."""

from __future__ import annotations

from pathlib import Path

from config import layers


def test_no_import_runs_the_wrong_way_anywhere_in_the_tree() -> None:
    assert layers.violations() == []


def test_every_package_of_the_tree_has_a_place_in_the_order() -> None:
    packages = {p.parent.name for p in layers.ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages <= set(layers.APPS) | {name.split(".")[0] for name in layers.LIBRARIES}


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_an_upward_import_is_caught_even_inside_a_function(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"core/storage.py": "def f():\n    from generation import pipeline\n"})
    assert layers.violations(root) == [
        "core/storage.py:2: core -> generation (core is below generation)",
        "core/storage.py:2: core -> generation.pipeline (core is below generation)",
    ]


def test_a_library_that_imports_an_app_or_django_is_caught(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"gpu_worker/engine/x.py": "import django\nfrom accounts.models import Partner\n"})
    problems = layers.violations(root)
    assert any("a plain library imports an app" in p for p in problems)
    assert any("imports django (libraries stay plain)" in p for p in problems)


def test_downward_imports_and_libraries_are_allowed(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"generation/x.py": "from moderation import models\nfrom gpu_worker import engine\n",
                            "moderation/verification/y.py": "from gpu_worker import sphinx\n"})  # fmt: skip
    assert layers.violations(root) == []
