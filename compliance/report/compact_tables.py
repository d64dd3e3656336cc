"""report.json version 3: the delivery metrics' event tables name what the report already holds.

In version 2 a deploy, lead time or restore was a row of its own values: at 100,000 commits the deploys
(4.06 MB) and lead times (3.61 MB) were a quarter of the file, and most of it said again what the change
rows and the deploys hold. A lead time is a change (its short SHA and commit time) and the deploy that
covered it (its run id and completion), and the seconds between the two; a restore is two deploys and
the seconds between them; a deploy's URL is its run's page in the target's repository. Version 3 writes
such a column as a reference (``refs``: an integer is a row of the table named, the value is that row's
field) or leaves it out as derived (``derived``), and says so in the table:

    {"columns": [...], "rows": [[...]], "refs": {"sha": "changes.short", "run_id": "deploys.run_id"},
     "derived": ["deployed_at", "merged_at", "seconds"]}

A reference or derivation is written only where reading it back gives the very same value: the row is
read back as it is written and compared, and a row that would read otherwise (a run no deploy of the
report holds, a URL that is not the run's page, a SHA no change has) is written whole, as the object it
is (a row that is an object is the item itself). What a column may reference and how a column is
derived is this module's, by table: a file naming another reference or derivation is refused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from compliance.base.timeutil import parse_time
from compliance.judge.metrics_stats import as_number

METRIC_LISTS = ("deploys", "lead_times", "restores")  # in the order they are read: a later one names an earlier
_time = functools.lru_cache(maxsize=1 << 16)(parse_time)  # a deploy's completion is many lead times' end


def _completed_at(ref: str) -> Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], Any]:
    def derive(item: dict[str, Any], targets: dict[str, Any], ctx: dict[str, Any]) -> Any:
        return targets[ref]["completed_at"]
    return derive


def _committed_at(item: dict[str, Any], targets: dict[str, Any], ctx: dict[str, Any]) -> Any:
    return targets["sha"]["committed_at"]


def _elapsed(start: str, end: str) -> Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], Any]:
    def derive(item: dict[str, Any], targets: dict[str, Any], ctx: dict[str, Any]) -> Any:
        if not isinstance(item[start], str) or not isinstance(item[end], str):
            raise ValueError(f"{start} and {end} are not both times")
        a, b = _time(item[start]), _time(item[end])
        if a is None or b is None:
            raise ValueError(f"{start} and {end} are not both times")
        return as_number((b - a).total_seconds())
    return derive


def _run_url(item: dict[str, Any], targets: dict[str, Any], ctx: dict[str, Any]) -> Any:
    run_id, repo = item["run_id"], ctx["repo"]
    if not repo or not isinstance(run_id, int) or isinstance(run_id, bool):
        raise ValueError("a run URL is derived from the target's repository and an integer run id")
    return f"https://github.com/{repo}/actions/runs/{run_id}"


# per table: the columns that may be a reference (to "changes.<field>", "deploys.<field>" or "strings"), and
# the columns that may be derived, in the order they are derived (a derivation may read an earlier one)
REFS: dict[str, dict[str, str]] = {
    "deploys": {"sha": "changes.sha", "conclusion": "strings", "why": "strings"},
    "lead_times": {"sha": "changes.short", "run_id": "deploys.run_id"},
    "restores": {"failed_run_id": "deploys.run_id", "restored_run_id": "deploys.run_id"},
}
DERIVED: dict[str, dict[str, Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], Any]]] = {
    "deploys": {"url": _run_url},
    "lead_times": {"merged_at": _committed_at, "deployed_at": _completed_at("run_id"),
                   "seconds": _elapsed("merged_at", "deployed_at")},
    "restores": {"failed_at": _completed_at("failed_run_id"), "restored_at": _completed_at("restored_run_id"),
                 "seconds": _elapsed("failed_at", "restored_at")},
}


def _plan(name: str, refs: dict[str, str], derived: list[str], ctx: dict[str, Any]) -> tuple[list, list]:
    """What reading a row of the table takes: per reference its column, the rows it names and their field;
    per derived column its derivation (worked out once per table, not per row)."""
    named = []
    for col, ref in refs.items():
        table, _, field = ref.partition(".")
        named.append((col, table, ctx[table], field))
    return named, [(col, DERIVED[name][col]) for col in derived]


def _decode(name: str, row: Any, columns: list[str], plan: tuple[list, list], ctx: dict[str, Any]) -> dict[str, Any]:
    """One row back as the item it was (a row that is an object is the item)."""
    if isinstance(row, dict):
        return dict(row)
    if not isinstance(row, list):
        raise ValueError(f"metrics.{name}: a row is a list or an object")
    item = dict(zip(columns, row, strict=True))
    targets: dict[str, Any] = {}
    named, derived = plan
    for col, table, rows, field in named:
        v = item.get(col)
        if type(v) is int and col in item:
            if not 0 <= v < len(rows):
                raise IndexError(f"metrics.{name}.{col} names {table} row {v}, and there are {len(rows)}")
            target = targets[col] = rows[v]
            item[col] = target[field] if field else target
    for col, derive in derived:
        try:
            item[col] = derive(item, targets, ctx)
        except KeyError as exc:  # the reference a derivation reads is not one
            raise ValueError(f"metrics.{name}.{col} is derived from {exc}, which the row does not reference"
                             ) from None
    return item


def compact_table(name: str, items: list[dict[str, Any]], ctx: dict[str, Any], index: dict[str, Any]) -> Any:
    """``items`` as a table of columns and rows; references and derivations only where they read back."""
    columns = sorted(items[0])
    if not all(sorted(i) == columns for i in items):
        return items
    if not ctx.get("refs"):  # a merged report: its events are each a target's, named by target; as they are
        return {"columns": columns, "rows": [[i[k] for k in columns] for i in items]}
    derived = [c for c in DERIVED[name] if c in columns]
    refs = {c: r for c, r in REFS[name].items() if c in columns}
    kept = [c for c in columns if c not in derived]
    named, derivations = _plan(name, refs, derived, ctx)
    tables = {col: (ref, rows) for col, _, rows, ref in ((c, t, r, refs[c]) for c, t, r, _ in named)}
    encoders = [(c, tables.get(c)) for c in kept]
    rows = []
    for item in items:
        row, targets, same = [], {}, True
        for c, ref in encoders:
            v = item[c]
            if ref is None:
                row.append(v)
                continue
            name_of, named_rows = ref
            if name_of == "strings":
                found = index["strings"](v) if isinstance(v, str) else None
                if found is not None or type(v) is not int:
                    row.append(v if found is None else found)
                    continue
                same = False  # a literal integer would read as a string
                break
            found = index[name_of].get(v) if isinstance(v, str) or type(v) is int else None
            if found is not None:
                targets[c] = named_rows[found]  # the value is that row's field: the index holds only such rows
                row.append(found)
            elif type(v) is int:  # a literal integer would read as a row: the item is written whole
                same = False
                break
            else:
                row.append(v)
        if same:  # what reading derives from the row, compared with what the item holds
            try:
                same = all(derive(item, targets, ctx) == item[col] for col, derive in derivations)
            except (KeyError, IndexError, TypeError, ValueError):
                same = False
        rows.append(row if same else item)
    out: dict[str, Any] = {"columns": kept, "rows": rows}
    if refs:
        out["refs"] = refs
    if derived:
        out["derived"] = derived
    return out


def expand_table(name: str, table: dict[str, Any], ctx: dict[str, Any], version: int) -> list[dict[str, Any]]:
    columns, rows = table.get("columns"), table.get("rows")
    if not set(table) <= {"columns", "rows", "refs", "derived"} or not {"columns", "rows"} <= set(table) \
            or not isinstance(columns, list) or not isinstance(rows, list) \
            or not all(isinstance(c, str) for c in columns) or len(set(columns)) != len(columns):
        raise ValueError(f"metrics.{name} is neither a list nor a table of distinct named columns")
    refs, derived = table.get("refs", {}), table.get("derived", [])
    if version < 3 and ("refs" in table or "derived" in table or not all(isinstance(r, list) for r in rows)):
        raise ValueError(f"metrics.{name}: references, derived columns and object rows are version 3")
    if not isinstance(refs, dict) or any(REFS[name].get(c) != r or c not in columns for c, r in refs.items()):
        raise ValueError(f"metrics.{name}: refs {refs!r} are not references this version makes")
    if not isinstance(derived, list) or len(set(derived)) != len(derived) \
            or any(c not in DERIVED[name] or c in columns for c in derived) \
            or derived != [c for c in DERIVED[name] if c in derived]:
        raise ValueError(f"metrics.{name}: derived {derived!r} are not columns this version derives")
    plan = _plan(name, refs, derived, ctx)
    return [_decode(name, row, columns, plan, ctx) for row in rows]


def ref_index(changes: list[dict[str, Any]], deploys: Any, strings: Callable[[str], int]) -> dict[str, Any]:
    """What a reference may name, unique values only (a value two rows hold names neither)."""
    index: dict[str, Any] = {"strings": strings}
    for key, rows, field in (("changes.sha", changes, "sha"), ("changes.short", changes, "short"),
                             ("deploys.run_id", deploys if isinstance(deploys, list) else [], "run_id")):
        seen: dict[Any, int | None] = {}
        for i, r in enumerate(rows):
            v = r.get(field) if isinstance(r, dict) else None
            if isinstance(v, (str, int)) and not isinstance(v, bool):
                seen[v] = None if v in seen else i
        index[key] = {v: i for v, i in seen.items() if i is not None}
    return index


__all__ = ["DERIVED", "METRIC_LISTS", "REFS", "compact_table", "expand_table", "ref_index"]
