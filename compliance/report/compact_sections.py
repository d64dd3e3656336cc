"""report.json version 2 for the sections added after the first compaction: the per-control view and the
delivery metrics.

At 10,000 commits these two had grown to 1.8 of the file's 4.0 MB: every failing subject written again
under each control its rule maps to (three, for most shipped rules), and every deploy, lead time and
restore of the metrics as an object repeating its keys. In version 2 a control's ``failing`` entry that
is one of the report's own non-pass findings is that finding's index in ``findings`` (the entry is
exactly the finding's rule, subject type, subject, status and target), and the metrics' event lists are
tables (``{"columns": [...], "rows": [[...], ...]}``). As in ``compact``, nothing is replaced unless
putting it back gives the very same value; ``expand`` reverses both, refusing what does not fit.
"""

from __future__ import annotations

from typing import Any

from compliance.report.compact_tables import METRIC_LISTS, compact_table, expand_table

FAILING_KEYS = ("rule_id", "status", "subject", "subject_type", "target")


def failing_key(f: dict[str, Any]) -> tuple:
    """What a control's failing entry says about a finding (target only in merged reports)."""
    return tuple(f.get(k) for k in FAILING_KEYS)


def failing_entry(f: dict[str, Any]) -> dict[str, Any]:
    return {k: f[k] for k in FAILING_KEYS if f.get(k) is not None}


def compact_controls(controls: Any, index: dict[tuple, int]) -> Any:
    """Each failing entry that is exactly a finding of ``findings`` becomes that finding's index."""
    if not isinstance(controls, list):
        return controls
    out = []
    for c in controls:
        if isinstance(c, dict) and isinstance(c.get("failing"), list):
            c = {**c, "failing": [_ref(e, index) for e in c["failing"]]}
        out.append(c)
    return out


def _ref(entry: Any, index: dict[tuple, int]) -> Any:
    if isinstance(entry, dict) and set(entry) <= set(FAILING_KEYS) and None not in entry.values():
        i = index.get(failing_key(entry))
        if i is not None:
            return i
    return entry


def expand_controls(controls: Any, findings: list[dict[str, Any]]) -> Any:
    """Indexes back to failing entries, from the findings in the file's order (before passes are added)."""
    if not isinstance(controls, list):
        return controls
    out = []
    for c in controls:
        if isinstance(c, dict) and isinstance(c.get("failing"), list):
            c = {**c, "failing": [_entry(e, findings) for e in c["failing"]]}
        out.append(c)
    return out


def _entry(e: Any, findings: list[dict[str, Any]]) -> Any:
    if isinstance(e, bool):  # Python reads true as 1: another finding than the file names
        raise TypeError("a control's failing entry is true or false, not an index")
    if not isinstance(e, int):
        return e
    if not 0 <= e < len(findings):
        raise IndexError(f"a control's failing entry names finding {e}, and the report has {len(findings)}")
    return failing_entry(findings[e])


def compact_metrics(metrics: Any, ctx: dict[str, Any] | None = None, index: dict[str, Any] | None = None) -> Any:
    """The metrics' event lists as tables, where every item is an object with the same keys; with ``ctx``
    (version 3) their columns name the change rows and deploys they repeat (``compact_tables``)."""
    if not isinstance(metrics, dict):
        return metrics
    out = dict(metrics)
    ctx = {**(ctx or {}), "deploys": metrics.get("deploys")}
    for name in METRIC_LISTS:
        items = metrics.get(name)
        if isinstance(items, list) and items and all(isinstance(i, dict) for i in items):
            out[name] = compact_table(name, items, ctx if index is not None else {}, index or {})
    return out


def expand_metrics(metrics: Any, ctx: dict[str, Any] | None = None, version: int = 2) -> Any:
    if not isinstance(metrics, dict):
        return metrics
    out = dict(metrics)
    ctx = dict(ctx or {})
    for name in METRIC_LISTS:  # deploys first: the lead times and restores name them
        table = metrics.get(name)
        if isinstance(table, dict):
            out[name] = expand_table(name, table, ctx, version)
        if name == "deploys":
            ctx["deploys"] = out.get(name) if isinstance(out.get(name), list) else []
    return out
