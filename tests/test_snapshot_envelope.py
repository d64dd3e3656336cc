"""One snapshot envelope: built by one function for every mode, its version written and checked on read."""

from __future__ import annotations

import json

import pytest

from compliance.base.errors import InputError
from compliance.model.snapshot import SNAPSHOT_VERSION, build_snapshot, read_snapshot, save_snapshot

WINDOW = {"since": "2026-02-21T00:00:00Z", "until": "2026-03-31T00:00:00Z", "branch": "main"}


def _envelope(**extra) -> dict:
    return build_snapshot(tool_version="t", collected_at="2026-03-31T00:00:00Z", window=WINDOW,
                          target={"branch": "main"}, rules={"b.yaml": "sha256:" + "2" * 64, "a.yaml": "sha256:" + "1" * 64},
                          sources={}, **extra)


def test_the_envelope_carries_the_version_it_is_read_with(tmp_path):
    doc = _envelope()
    assert doc["snapshot_version"] == SNAPSHOT_VERSION
    assert doc["tool"] == {"name": "compliance", "version": "t"}
    assert list(doc["rules"]) == ["a.yaml", "b.yaml"]
    path = save_snapshot(doc, tmp_path / "snapshot.json")
    back, digest = read_snapshot(path)
    assert back == doc and digest.startswith("sha256:")


def test_a_pull_request_envelope_keeps_its_own_facts(tmp_path):
    doc = _envelope(pull_request={"number": 7, "title": "t", "head_sha": "a" * 40, "head_ref": "f",
                                  "base_ref": "main", "html_url": None})
    assert doc["pull_request"]["number"] == 7
    assert read_snapshot(save_snapshot(doc, tmp_path / "s.json"))[0]["pull_request"]["number"] == 7


@pytest.mark.parametrize("version", [2, 0, "1", True, None])
def test_an_unknown_version_is_named_as_such(tmp_path, version):
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps({**_envelope(), "snapshot_version": version}), "utf-8")
    with pytest.raises(InputError) as caught:
        read_snapshot(path)
    [problem] = caught.value.problems
    assert f"snapshot format version {version!r} is not one this tool reads" in problem.message
    assert f"reads version {SNAPSHOT_VERSION}" in problem.message and "at /snapshot_version" in problem.message


def test_every_mode_builds_the_envelope_in_one_place():
    """collect, pr and the rule tests name no envelope key of their own: they all call build_snapshot."""
    from pathlib import Path

    import compliance.app as app

    root = Path(app.__file__).parent
    for name in ("collect.py", "pr.py", "rulestest.py"):
        text = (root / name).read_text("utf-8")
        assert "build_snapshot(" in text and '"snapshot_version"' not in text, name
