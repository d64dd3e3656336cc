"""The README's layout block is the folder tree: every folder of the package is named there, in layer
order (the order the import contract checks), and every folder named there exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_folders() -> list[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    block = text.split("### Layout: the pipeline is the folder tree", 1)[1].split("```", 2)[1]
    return re.findall(r"^  ([a-z_]+)/", block, re.M)


def test_every_folder_is_in_the_readme_layout_and_nothing_else():
    folders = sorted(p.name for p in (ROOT / "compliance").iterdir() if p.is_dir() and p.name != "__pycache__")
    assert sorted(_readme_folders()) == folders


def test_the_layout_lists_the_code_folders_in_the_contracts_layer_order():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    [contract] = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    layers = [name.removeprefix("compliance.") for name in contract["layers"]]
    assert [f for f in _readme_folders() if f in layers] == layers
    code = {p.parent.name for p in (ROOT / "compliance").glob("*/__init__.py")}
    assert code == set(layers)  # every folder with code is a layer; builtin/ holds data only
