"""The one persistence path every mode takes: judge -> document -> validate -> stage -> commit.

Audit, evaluate, pr, deploy, backtest and the demo used to each write their folder their own way:
one validated the snapshot before any report and dropped a stale ``waivers.yaml``, others wrote the
reports first and left the waivers of an earlier run beside a new snapshot, so a later
``evaluate --snapshot`` applied exceptions the run never used. Here the order is fixed once:

1. judge the snapshot (with the waivers loaded as of its collection time);
2. validate the snapshot as it will be saved (an invalid one stops the run before anything is written);
3. stage the snapshot into a new set, a record at a time, its digest taken as it is written (a snapshot
   read from a file, as ``evaluate`` and ``backtest`` do, already has its digest and is staged with the reports);
4. build the report document from the findings, naming that digest;
5. stage the reports and the waivers applied into the set;
6. publish the set in one rename (``report.write_set`` on ``fsutil.staged_set``).

A failure or a kill anywhere before step 6 leaves the previous set exactly as it was; after it, the
new set is whole. A mode that did not apply waivers publishes a set without ``waivers.yaml``, so the
old one goes with the old set. Nothing here prints: notes for the user come back as data.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from compliance.base import progress
from compliance.base.redact_doc import redact_data
from compliance.base.timeutil import parse_time
from compliance.inputs.waivers import load_waivers
from compliance.judge.engine import Context, judge
from compliance.model.findings import Finding
from compliance.model.snapshot import (
    canonical_and_masked,
    digest_text,
    snapshot_text,
    validate_snapshot,
)
from compliance.model.strict_json import refuse_duplicate_keys
from compliance.report import SNAPSHOT_NAME, write_set
from compliance.report.document import build_report

DEFAULT_FORMATS = ("md", "html", "json")


@dataclass
class Judged:
    """Findings of one snapshot, the waiver section they were judged with and the indexes used."""

    findings: list[Finding]
    waivers: dict[str, Any] | None
    ctx: Context


@dataclass
class Persisted:
    """What a run published: the document as masked for the reports (safe to print or post) and its files.

    ``findings`` is filled only when the caller asked to keep them (deploy reads its validation
    from them); a large audit drops them before rendering so they are not held beside the text.
    """

    doc: dict[str, Any]
    written: dict[str, Path]
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_waivers(path: str | None, ruleset: Any, now: datetime, warn_days: int | None = None) -> Any:
    """The waiver file as of ``now`` (a snapshot's collection time, or now for a precheck)."""
    if not path:
        return None
    return load_waivers(path, now=now, rule_ids={r.id for r in ruleset.rules}, warn_days=warn_days)


def judge_snapshot(snapshot: dict[str, Any], ruleset: Any, waivers: str | None = None,
                   warn_days: int | None = None) -> Judged:
    """Stage 1: the findings. Waivers expire by the snapshot's clock, so a re-evaluation agrees with the run."""
    loaded = read_waivers(waivers, ruleset, parse_time(snapshot["collected_at"]), warn_days)
    ctx = Context(snapshot)  # one set of indexes for judging and for the report's timelines
    findings, section = judge(snapshot, ruleset.rules, loaded, ctx=ctx)
    return Judged(findings, section, ctx)


def persist(snapshot: dict[str, Any], ruleset: Any, out_dir: str | Path, mode: str,
            formats: Iterable[str] = DEFAULT_FORMATS, *, waivers: str | None = None,
            previous: dict[str, Any] | None = None, warn_days: int | None = None,
            snapshot_file: str | None = None, digest: str | None = None, judged: Judged | None = None,
            keep_findings: bool = False,
            beside: Callable[[Callable[[str], Path]], dict[str, Any] | None] | None = None) -> Persisted:
    """Judge ``snapshot`` and publish reports + snapshot + waivers into ``out_dir`` as one set.

    ``snapshot_file``/``digest``: the snapshot was read from that file (evaluate, backtest) and is
    already validated; the set carries it as saved. ``judged``: findings the caller already has
    (backtest prints them before deciding to write). ``beside``: stages folders into the set (given the
    function that makes one) before the document is built, and returns the previous report to diff against,
    if it made one (the demo's baseline, published with the set).
    """
    out = Path(out_dir)
    notes: list[str] = []
    if snapshot_file:
        snapshot, text, digest, note = as_saved(snapshot, snapshot_file, digest)
        notes += [note] if note else []
        judged = None if note else judged  # the document judged is the one saved, not the file's
    where = (snapshot.get("target") or {}).get("name")
    of = f" [{where}]" if where else ""
    if judged is None:
        with progress.stage(f"judging{of}"):  # stages of a slow run show while they run
            judged = judge_snapshot(snapshot, ruleset, waivers, warn_days)
    findings = judged.findings if keep_findings else []
    pending = [judged]  # handed to the document once, then let go: the findings are not held while writing
    del judged

    against = [previous]

    def document(digest: str) -> dict[str, Any]:
        done = pending.pop()
        with progress.stage(f"report document{of}"):
            return build_report(snapshot, ruleset.rules, done.findings, mode, waivers=done.waivers,
                                previous=against[0], ctx=done.ctx, digest=digest)

    def staged_beside(folder: Callable[[str], Path]) -> None:  # passed on only when there is a ``beside``
        against[0] = beside(folder) or against[0]

    if snapshot_file:
        copy = (Path(snapshot_file), digest) if text is None else None
        doc, written = write_set(document(digest), out, formats, snapshot_text=text, waivers=waivers,
                                 snapshot_copy=copy)
    else:  # the snapshot staged first, streamed: its digest is taken as it is written, for the document
        validate_snapshot(snapshot, str(out / SNAPSHOT_NAME))
        doc, written = write_set(document, out, formats, snapshot_doc=redact_data(snapshot), waivers=waivers,
                                 beside=staged_beside if beside else None)
    return Persisted(doc, written, findings, notes)


def as_saved(snapshot: dict[str, Any], path: str, digest: str | None
             ) -> tuple[dict[str, Any], str | None, str, str | None]:
    """The snapshot as the report folder saves it, its text, digest and a note when it differs from the file.

    A file written by this tool comes back byte for byte; one written elsewhere (by hand, an older
    version, holding a token) is judged as saved, so the report and the snapshot beside it stay one
    pair and no secret is copied on. The text is None when the file is that text already (the set copies it)."""
    if digest is not None and canonical_and_masked(snapshot, digest):
        return snapshot, None, digest, None  # the set copies the file: its 100 MB of text are never held
    refuse_duplicate_keys(path)  # a file not written by this tool may name a key twice: which one was read?
    text = snapshot_text(snapshot)
    saved = digest_text(text)
    if saved == digest:
        return snapshot, text, saved, None
    note = (f"note: {path} is not in canonical form or holds secret values; the reports judge it as saved "
            f"beside them (canonical, secrets masked: {saved})")
    return json.loads(text), text, saved, note


__all__ = ["DEFAULT_FORMATS", "Judged", "Persisted", "as_saved", "judge_snapshot", "persist", "read_waivers"]
