"""The test suite's own shape: helpers and fixtures are shared through helper modules and conftest.py, never
by importing a test module (that runs its module-level set-up a second time under another name, and ties two
test files together in a way a reader of either cannot see)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imported(node: ast.AST) -> list[str]:
    """Dotted names an import statement may load as modules (``from a import b`` may load ``a.b``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        base = "." * node.level + (node.module or "")
        return [base, *(f"{base}.{a.name}" if base and not base.endswith(".") else f"{base}{a.name}"
                         for a in node.names)]
    return []


def imports_of_test_modules(root: Path = TESTS) -> list[str]:
    """``file:line`` of every import, under ``root``, that names a ``test_*`` module of the suite."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            for name in _imported(node):
                ours = name.startswith((".", root.name + "."))
                if ours and any(part.startswith("test_") for part in name.lstrip(".").split(".")):
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno}: imports {name}")
                    break
    return found


def test_no_test_module_is_imported_by_another_file():
    assert imports_of_test_modules() == []


def test_the_shape_check_sees_an_import_of_a_test_module(tmp_path):
    root = tmp_path / "tests"
    (root / "sub").mkdir(parents=True)
    (root / "test_a.py").write_text("def helper(): ...\n")
    (root / "helpers.py").write_text("import json\nfrom tests.gitrepo import build\n")
    (root / "test_b.py").write_text("from tests.test_a import helper\nfrom tests import helpers\n")
    (root / "sub" / "test_c.py").write_text("from ..test_a import helper\nimport tests.test_a\n")
    assert imports_of_test_modules(root) == [
        "tests/sub/test_c.py:1: imports ..test_a",
        "tests/sub/test_c.py:2: imports tests.test_a",
        "tests/test_b.py:1: imports tests.test_a",
    ]
