"""Canonical JSON (snapshots, report.json): deterministic, one record per line, digest = file bytes."""

from __future__ import annotations

import hashlib
import json

import pytest

from compliance.base.redact_doc import Masked, redact_data
from compliance.model.snapshot import canonical_json, read_snapshot, save_snapshot, snapshot_digest

DOC = {
    "snapshot_version": 1,
    "sources": {"git": {"data": {"commits": [{"sha": "b", "files": [{"path": "ü/x", "status": "M"}]},
                                             {"sha": "a", "files": []}], "branch": "main"}}},
    "z": [1, 2, 3],
    "a": {},
}


def test_same_document_same_text_whatever_the_key_order():
    shuffled = json.loads(json.dumps(DOC))
    shuffled = {k: shuffled[k] for k in reversed(list(shuffled))}
    assert canonical_json(DOC) == canonical_json(shuffled)
    assert json.loads(canonical_json(DOC)) == DOC


def test_records_of_a_list_sit_one_per_line():
    lines = canonical_json(DOC).splitlines()
    commits = [line for line in lines if line.strip().startswith('{"files"')]
    assert len(commits) == 2
    assert json.loads(commits[0].rstrip(",")) == DOC["sources"]["git"]["data"]["commits"][0]
    assert '"z": [1, 2, 3]' in lines[-2] or any(line.strip() == '"z": [1, 2, 3]' for line in lines)
    assert "ü/x" in canonical_json(DOC)  # UTF-8, not \\u escapes


def test_nan_is_refused_only_when_asked():
    assert "NaN" in canonical_json({"x": float("nan")})
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")}, allow_nan=False)


def test_digest_of_a_saved_snapshot_is_the_files_sha256(tmp_path, monkeypatch):
    import compliance.model.snapshot as snapshot_mod

    monkeypatch.setattr(snapshot_mod, "validate_snapshot", lambda doc, path="": None)
    path = save_snapshot(DOC, tmp_path / "s.json")
    expected = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert snapshot_digest(DOC) == expected
    doc, digest = read_snapshot(path)
    assert doc == DOC and digest == expected


def test_masking_returns_a_clean_document_unwalked_and_masks_a_dirty_one(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "s3cr3t-\"quoted\"-value")
    clean = redact_data(DOC)
    assert isinstance(clean, Masked) and clean == DOC
    assert redact_data(clean) is clean  # masked once, not walked again per format
    dirty = {"a": [{"msg": 'token s3cr3t-"quoted"-value here'}], "b": "ghp_" + "x" * 30, "c": "half \ud800 emoji"}
    masked = redact_data(dirty)
    assert masked == {"a": [{"msg": "token *** here"}], "b": "***", "c": "half \ufffd emoji"}
    assert dirty["a"][0]["msg"].startswith("token s3cr3t")  # the input is not changed in place


def test_a_collected_snapshot_is_validated_whole_and_carries_no_claim(tmp_path, monkeypatch):
    """collect's snapshot is a plain masked document: validating it checks every source's data
    (jsonschema-rs makes that cheap), so nothing rides on which object was checked before."""
    import compliance.model.snapshot as snapshot_mod
    from compliance.app.collect import collect
    from compliance.base.errors import InputError
    from compliance.base.timeutil import parse_bound
    from compliance.demo import DEMO_SINCE, DEMO_UNTIL, build_demo
    from compliance.inputs.config import load_config
    from compliance.inputs.rules import load_rules

    config = load_config(str(build_demo(tmp_path / "demo")))
    ruleset = load_rules(config.policies)
    snap = collect(config, ruleset, parse_bound(DEMO_SINCE), parse_bound(DEMO_UNTIL, end=True))
    assert not hasattr(snap, "__dict__")  # no attribute can carry a claim beside the data
    seen = []
    real = snapshot_mod.schema_problems
    monkeypatch.setattr(snapshot_mod, "schema_problems", lambda doc, schema, *a, **k: seen.append(schema) or
                        real(doc, schema, *a, **k))
    snapshot_mod.validate_snapshot(snap)
    assert seen == [snapshot_mod.load_schema("snapshot")]
    snap["sources"] = {**snap["sources"], "git": {**snap["sources"]["git"], "data": {"branch": 5}}}
    with pytest.raises(InputError):
        snapshot_mod.validate_snapshot(snap)

    # a secret in collected data is masked before anything reads it, and the masked snapshot is valid
    lam = tmp_path / "demo" / "data" / "lambda.json"
    lam.write_text(lam.read_text("utf-8").replace('"Active"', '"Active tok-zq9x-secret"', 1), "utf-8")
    monkeypatch.setenv("GITHUB_TOKEN", "tok-zq9x-secret")
    masked = collect(config, ruleset, parse_bound(DEMO_SINCE), parse_bound(DEMO_UNTIL, end=True))
    assert "zq9x" not in json.dumps(masked) and "Active ***" in json.dumps(masked)
    snapshot_mod.validate_snapshot(masked)
