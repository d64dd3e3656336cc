"""Turn a cProfile of the pipeline into "what costs the time, and what would remove it".

The code under test changes while these benchmarks are kept, so nothing here asserts a cause it
did not measure: each known cost centre below is reported only when the profile shows it above a
share of the run, with the call counts and seconds the profile recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Suspect:
    file: str  # path under compliance/
    func: str
    what: str  # format fields: {n} calls, {s} cumulative seconds, {share}
    fix: str


SUSPECTS = (
    Suspect("snapshot.py", "schema_problems",
            "jsonschema over the snapshot and the source data: `snapshot.schema_problems` ran {n} time(s), {s:.1f} s "
            "({share:.0%})",
            "validate each piece of data once (file sources are checked on read, every source again by "
            "`collect.checked_envelope`, the whole snapshot again by `save_snapshot` / `load_snapshot`), and check "
            "the big arrays (commits, files, runs, worklogs) with a compiled or hand-written validator, keeping "
            "jsonschema to locate a problem once one is found"),
    Suspect("redact.py", "redact_data",
            "`redact.redact_data` walked every string it was given (the snapshot in `collect` and `save_snapshot`, "
            "the report document in `render_all`): {s:.1f} s ({share:.0%}), {n} calls",
            "read the secret values from the environment once per run (not for every string in `redact.redact`), "
            "skip the walk when none is set, mask free-text fields only (messages, bodies, worklogs; not SHAs, "
            "paths, timestamps), and mask the report document once rather than copying it in `render_all`"),
    Suspect("snapshot.py", "canonical_json",
            "`snapshot.canonical_json` serialised the whole snapshot {n} time(s), {s:.1f} s ({share:.0%}); "
            "`reportdoc.build_report` does it only to digest it",
            "digest the bytes already read (evaluate) or the text already written (audit) instead"),
    Suspect("evidence.py", "evidence_for_item",
            "{n} `evidence.evidence_for_item` calls, {s:.1f} s ({share:.0%}): every tracker item is parsed once per "
            "`engine.Context`, and `build_report` makes a second one, so `EvidenceIndex` and `History` are built "
            "again after `judge`",
            "hand the judge's `Context` (with its indexes) to `build_report`"),
    Suspect("report/markdown.py", "render",
            "Markdown {s:.1f} s ({share:.0%}) for a report capped at a PR comment's size: the body is built for "
            "every change and then cut",
            "stop adding rows once the budget is reached (and build the short body only if the long one overflows)"),
    Suspect("report/html.py", "render",
            "HTML report {s:.1f} s ({share:.0%}): a row, timeline and evidence for every change",
            "summarise passing changes (counts, one line each) and keep full evidence for failures"),
    Suspect("report/json_report.py", "render",
            "JSON report {s:.1f} s ({share:.0%}): `json.dumps(indent=2, sort_keys=True)` of the whole document",
            "stream it to the file (`json.dump`), without indentation for large reports"),
    Suspect("reportdoc.py", "_changes",
            "per-change timelines in the report document {s:.1f} s ({share:.0%})",
            "build timelines from the indexes the checks already built instead of recomputing them per change"),
    Suspect("engine.py", "evaluate",
            "judging itself (`engine.evaluate`, every check) {s:.1f} s ({share:.0%})",
            "(already indexed; shrinks with the evidence and Context items above)"),
    Suspect("sources/git.py", "collect_git",
            "the git source (`collect_git`) {s:.1f} s ({share:.0%})",
            "keep per-record work to splitting; extract task ids lazily"),
    Suspect("sources/files.py", "read_source_file",
            "reading the file-based sources {s:.1f} s ({share:.0%}), {n} file(s), each schema-checked",
            "(see schema validation)"),
)


def findings(profile: dict[str, Any], min_share: float = 0.03) -> list[tuple[float, str, str]]:
    """(share, what, fix) for every known cost centre above ``min_share`` of the profiled run."""
    total = float(profile.get("total") or 0) or 1.0
    by_key: dict[tuple[str, str], tuple[int, float]] = {}
    for file, _line, func, ncalls, _tt, cum in profile.get("functions", []):
        key = (file, func)
        n, c = by_key.get(key, (0, 0.0))
        by_key[key] = (n + int(ncalls), max(c, float(cum)))  # recursion repeats a key: keep the outer time
    out = []
    for s in SUSPECTS:
        hit = next(((n, c) for (file, func), (n, c) in by_key.items() if file.endswith(s.file) and func == s.func),
                   None)
        if hit is None:
            continue
        n, cum = hit
        share = cum / total
        if share >= min_share:
            out.append((share, s.what.format(n=n, s=cum, share=share), s.fix))
    out.sort(key=lambda t: -t[0])
    return out


def render_fix(fix: str) -> str:
    """A fix, or a remark in parentheses that is not one."""
    return fix if fix.startswith("(") else f"Fix: {fix}."


def as_markdown(profile: dict[str, Any], label: str) -> list[str]:
    items = findings(profile)
    if not items:
        return []
    lines = [f"Known cost centres in the cProfile of {label} (cumulative time; nested items overlap):", ""]
    lines += [f"- {what}. {render_fix(fix)}" for _share, what, fix in items]
    return [*lines, ""]
