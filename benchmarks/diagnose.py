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
    Suspect("evidence/records.py", "evidence_for_item",
            "{n} worklogs parsed for evidence (`evidence.evidence_for_item`: SHAs, outcome signals, "
            "LastModified values, each a set of regular expressions over the text), {s:.1f} s ({share:.0%})",
            "parse only the worklogs of tasks that in-window changes name, and only the fields a rule reads"),
    Suspect("engine.py", "evaluate",
            "judging (`engine.evaluate`: every check, one `Finding` with its evidence dicts per change and "
            "rule), {s:.1f} s ({share:.0%})",
            "count passing findings per rule instead of materialising each with its evidence, keeping full "
            "findings for failures"),
    Suspect("reportdoc.py", "_changes",
            "the report's per-change chain (`reportdoc._changes`: a timeline of four stages per change), "
            "{s:.1f} s ({share:.0%})",
            "record each stage while the checks judge it, instead of deriving it again per change"),
    Suspect("snapshot.py", "schema_problems",
            "the schema check of the snapshot and source data (`snapshot.schema_problems`: jsonschema-rs, "
            "jsonschema only on a problem), {n} time(s), {s:.1f} s ({share:.0%})",
            "(already a native validator; what remains is walking the Python objects)"),
    Suspect("snapshot.py", "_emit",
            "canonical JSON of the snapshot and report.json (`snapshot._emit`, json's C encoder per record), "
            "{s:.1f} s ({share:.0%})",
            "(report.json is version 3, under a tenth of version 1; what remains is mostly the snapshot, "
            "re-encoded to check it is canonical and masked)"),
    Suspect("report/html.py", "stream",
            "HTML report {s:.1f} s ({share:.0%}): full cards for the first changes and findings needing "
            "attention, one row for each other change",
            "(bounded per change; shrinks with the number of failing changes)"),
    Suspect("report/markdown.py", "render",
            "Markdown {s:.1f} s ({share:.0%}), capped at a PR comment's size",
            "(bounded: items past the cap are counted, not rendered)"),
    Suspect("redact_doc.py", "redact_data",
            "the secret-masking check (`redact_doc.redact_data`: the report document's distinct strings walked once "
            "and searched only where a hint word sits; the snapshot's canonical text scanned likewise), "
            "{s:.1f} s ({share:.0%}), {n} call(s)",
            "mask where each string enters the document (sources, evidence, messages) so the whole document "
            "need not be walked again; kept whole for now because a secret formed by joining two values is "
            "only seen in the finished document"),
    Suspect("sources/git.py", "collect_git",
            "the git source (`collect_git`) {s:.1f} s ({share:.0%})",
            "(git itself is most of it; the Python side parses records while git still walks)"),
    Suspect("sources/files.py", "read_source_file",
            "reading the file-based sources {s:.1f} s ({share:.0%}), {n} file(s), each schema-checked once",
            "(json.load plus the jsonschema-rs check)"),
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
