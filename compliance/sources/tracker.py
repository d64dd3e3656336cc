"""The ``tracker`` source: the tracker items (worklogs, evidence fields) that changes name.

Items are read by key with ``BatchGetItem``, never a ``Scan``: the table holds every project's
history. DynamoDB may leave keys unprocessed under load; they are asked for again with capped,
jittered backoff, and a batch still unprocessed after ``UNPROCESSED_ATTEMPTS`` fails the source
(``Throttled``) rather than returning the items that happened to come back.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from compliance.sources import aws
from compliance.sources.base import Meter

TRACKER_FIELDS = ("item_id", "record_id", "title", "status", "history", "commit_sha", "deploy_evidence",
                  "live_validation_evidence", "transition_type")
TRACKER_TYPES = {"TSK": "task", "ISS": "issue", "FTR": "feature", "LSN": "lesson", "PLN": "plan",
                 "GEN": "generation"}
BATCH_GET_LIMIT = 100  # DynamoDB's own per-request key limit
UNPROCESSED_ATTEMPTS = 8

_sleep: Callable[[float], None] = time.sleep  # replaced in tests so UnprocessedKeys backoff is instant


def tracker_record_id(item_id: str) -> str | None:
    """``ENC-TSK-325`` -> ``task#ENC-TSK-325``; None when the type segment is not one the tracker issues."""
    parts = item_id.split("-")
    kind = TRACKER_TYPES.get(parts[1].upper()) if len(parts) > 2 else None
    return f"{kind}#{item_id}" if kind else None


def collect_tracker(table: str, project: str, task_ids: list[str], region: str, *, meter: Meter,
                    options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The named items by key (BatchGetItem), never a Scan: the table holds every project's history."""
    ids = list(dict.fromkeys(t.strip().upper() for t in task_ids if t and t.strip()))
    keyed: dict[str, str] = {}
    for tid in ids:
        record = tracker_record_id(tid)
        if record is None:
            meter.warnings.append(f"{tid}: unknown tracker type segment, not looked up")
        else:
            keyed[record] = tid
    found: dict[str, dict[str, Any]] = {}
    if keyed:
        client = aws.client_for("dynamodb", region, meter, options)
        records = sorted(keyed)
        names = {f"#f{i}": f for i, f in enumerate(TRACKER_FIELDS)}
        projection = ", ".join(names)
        for start in range(0, len(records), BATCH_GET_LIMIT):
            keys = [{"project_id": {"S": project}, "record_id": {"S": r}}
                    for r in records[start:start + BATCH_GET_LIMIT]]
            for raw in _batch_get(client, table, keys, projection, names):
                item = aws.deserialize(raw)
                record = item.get("record_id")
                if record in keyed:
                    tid = keyed[record]
                    kept = aws.pick(item, TRACKER_FIELDS)
                    kept.setdefault("item_id", tid)
                    kept.setdefault("record_id", record)
                    found[tid] = kept
    return {
        "table": table,
        "project": project,
        "items": {tid: found[tid] for tid in sorted(found)},
        "missing": sorted(tid for tid in ids if tid not in found),
    }


def _batch_get(client, table: str, keys: list[dict[str, Any]], projection: str,
               names: dict[str, str]) -> list[dict[str, Any]]:
    """One BatchGetItem, re-asking for UnprocessedKeys with capped, jittered backoff (bounded)."""
    out: list[dict[str, Any]] = []
    request: dict[str, Any] = {table: {"Keys": keys, "ProjectionExpression": projection,
                                       "ExpressionAttributeNames": names}}
    for attempt in range(UNPROCESSED_ATTEMPTS):
        resp = aws.call(client, "BatchGetItem", RequestItems=request)
        out.extend(resp.get("Responses", {}).get(table, []))
        pending = resp.get("UnprocessedKeys") or {}
        if not pending.get(table, {}).get("Keys"):
            return out
        request = pending
        _sleep(min(2.0, 0.05 * 2 ** attempt) * (0.5 + random.random() / 2))  # noqa: S311 - jitter, not crypto
    left = len(request[table]["Keys"])
    raise aws.Throttled(f"BatchGetItem: {left} key(s) of {table} still unprocessed after {UNPROCESSED_ATTEMPTS} "
                        "attempts", code="UnprocessedKeys", operation="BatchGetItem")
