"""The ``deploy_manager`` source: deployment-manager requests and specs submitted in the window.

The sort keys embed a compact UTC timestamp that sorts lexically, so ``BETWEEN`` on the sort key
reads only the window. Without a configured project the table can only be scanned (filtered to
the window); that costs a read of every project's rows, so it is a source warning.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from compliance.sources import aws
from compliance.sources.base import Meter

REQUEST_FIELDS = ("record_id", "request_id", "status", "deployment_type", "submitted_at", "submitted_by",
                  "summary", "changes", "related_record_ids", "files_changed", "non_ui_config")
SPEC_FIELDS = ("record_id", "spec_id", "status", "deployment_category", "non_ui_target_arns", "request_ids")
DM_PREFIXES = (("request#REQ-", "requests"), ("spec#SPEC-", "specs"))


def _stamp(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def collect_deploy_manager(table: str, project: str | None, since: datetime, until: datetime, region: str, *,
                           meter: Meter, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Requests and specs whose sort-key timestamp falls in the window.

    The upper bound ends in U+FFFF so every suffix of the last second (``-9c4e1f``) is included.
    ``deploy#`` rows are not read: no check uses them. The option ``page_size`` (Query/Scan
    ``Limit``) exists so paging can be exercised without megabytes of rows.
    """
    opts = options or {}
    lo, hi = _stamp(since), _stamp(until)
    client = aws.client_for("dynamodb", region, meter, options)
    rows: dict[str, list[dict[str, Any]]] = {"requests": [], "specs": []}
    if project is not None:
        for prefix, bucket in DM_PREFIXES:
            values = {":p": {"S": project}, ":lo": {"S": prefix + lo}, ":hi": {"S": prefix + hi + "\uffff"}}
            for page in aws.pages(client, "Query", options, page_size=opts.get("page_size"), TableName=table,
                                  KeyConditionExpression="project_id = :p AND record_id BETWEEN :lo AND :hi",
                                  ExpressionAttributeValues=values):
                rows[bucket].extend(aws.deserialize(i) for i in page.get("Items", []))
    else:
        meter.warnings.append(f"deploy_manager: no project configured, so {table} was read with a Scan "
                              "(filtered to requests and specs in the window); set target.deploy_manager.project")
        values = {":lr": {"S": "request#REQ-" + lo}, ":hr": {"S": "request#REQ-" + hi + "\uffff"},
                  ":ls": {"S": "spec#SPEC-" + lo}, ":hs": {"S": "spec#SPEC-" + hi + "\uffff"}}
        for page in aws.pages(client, "Scan", options, page_size=opts.get("page_size"), TableName=table,
                              FilterExpression="record_id BETWEEN :lr AND :hr OR record_id BETWEEN :ls AND :hs",
                              ExpressionAttributeValues=values):
            for item in (aws.deserialize(i) for i in page.get("Items", [])):
                bucket = "requests" if str(item.get("record_id", "")).startswith("request#") else "specs"
                rows[bucket].append(item)
    requests = [_row(item, REQUEST_FIELDS, "request_id", ("status", "deployment_type")) for item in rows["requests"]]
    specs = [_row(item, SPEC_FIELDS, "spec_id", ("status",)) for item in rows["specs"]]
    return {"table": table, "requests": sorted(requests, key=lambda r: r["record_id"]),
            "specs": sorted(specs, key=lambda s: s["record_id"])}


def _row(item: dict[str, Any], fields: tuple[str, ...], id_field: str, required: tuple[str, ...]) -> dict[str, Any]:
    out = aws.pick(item, fields)
    out[id_field] = str(item.get("record_id", "")).split("#", 1)[-1]
    for name in required:
        out.setdefault(name, None)
    return out
