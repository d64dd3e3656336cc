"""The demo's tracker items: complete, incomplete, structured-only, absent and hostile evidence."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from compliance.demo.history import History
from compliance.demo.runs import deploy_window
from compliance.demo.system import FUNCTION, REPO, TRACKER_TABLE, lambda_time, z


def _evidence(sha: str, modified: datetime, status: str = "Successful", short: int = 12) -> str:
    return (f"Deployed commit {sha[:short]} via api-mcp-backend-deploy; {FUNCTION} "
            f"LastModified={lambda_time(modified)} State=Active LastUpdateStatus={status}; "
            "GET /api/v1/coordination/capabilities -> 200")


def _item(item_id: str, title: str, created: datetime, *history: tuple[datetime, str, str],
          **fields: Any) -> dict[str, Any]:
    kind = {"TSK": "task", "ISS": "issue", "FTR": "feature"}[item_id.split("-")[1]]
    entries = [{"timestamp": z(created), "status": "created", "description": f"Created {kind}: {title}"}]
    entries += [{"timestamp": z(t), "status": s, "description": d} for t, s, d in history]
    return {"project_id": REPO, "record_id": f"{kind}#{item_id}", "item_id": item_id, "title": title,
            "status": "closed" if any(s == "worklog" for _, s, _ in history) else "open",
            "history": entries, **fields}


def tracker_data(h: History, shas: dict[str, str], github: dict[str, Any]) -> dict[str, Any]:
    def win(key: str, event: str = "push") -> tuple[datetime, datetime]:
        return deploy_window(github, shas[key], event)

    def modified(key: str, event: str = "push") -> datetime:
        return win(key, event)[0] + timedelta(seconds=97)

    def later(key: str, minutes: int, event: str = "push") -> datetime:
        return win(key, event)[1] + timedelta(minutes=minutes)

    day = timedelta(days=1)
    items = [
        _item("ENC-TSK-325", "Expose capabilities contract version", h.by_key["pr101"].committed - 2 * day,
              (later("pr101", 12), "worklog", _evidence(shas["pr101"], modified("pr101")))),
        _item("ENC-TSK-330", "Keep governance data dictionary current", h.by_key["dict-102"].committed - day),
        _item("ENC-TSK-340", "Document the API + MCP deployment process", h.by_key["pr103"].committed - day,
              (h.by_key["pr103"].committed + timedelta(hours=1), "worklog", "Runbook merged in PR #103.")),
        # Evidence without the Lambda's LastModified: incomplete.
        _item("ENC-ISS-640", "Dispatch plan emits dependent steps first", h.by_key["iss640"].committed - 3 * day,
              (later("iss640", 20), "worklog",
               f"Deployed commit {shas['iss640'][:9]} via api-mcp-backend-deploy; State=Active "
               "LastUpdateStatus=Successful; GET /api/v1/coordination/capabilities -> 200")),
        _item("ENC-TSK-331", "Mobile nav overflow", h.by_key["fe-nav"].committed - day),
        # Deployed by f65's run after its own run was cancelled: the worklog names both commits.
        _item("ENC-TSK-734", "Retry conditional writes", h.by_key["pr105"].committed - 2 * day,
              (later("f65", 15), "worklog",
               _evidence(shas["f65"], modified("f65")) + f" (includes {shas['pr105'][:12]}, whose own run was "
               "cancelled by concurrency)")),
        _item("ENC-TSK-F65", "Tighten MCP tool input schema validation", h.by_key["f65"].committed - day,
              (later("f65", 14), "worklog", _evidence(shas["f65"], modified("f65"), short=7))),
        _item("ENC-FTR-056", "Project dashboard", h.by_key["pr106"].committed - 5 * day),
        # Structured evidence only, no worklog text.
        _item("ENC-TSK-1005", "Coordination request status route", h.by_key["tsk1005"].committed - day,
              (later("tsk1005", 30), "closed", "Closed after lambda_deploy transition."),
              commit_sha=shas["tsk1005"], transition_type="lambda_deploy",
              deploy_evidence=json.dumps({
                  "commit": shas["tsk1005"], "workflow": "api-mcp-backend-deploy", "function": FUNCTION,
                  "last_modified": lambda_time(modified("tsk1005")), "state": "Active",
                  "last_update_status": "Successful"}, sort_keys=True),
              live_validation_evidence=json.dumps({
                  "url": "/api/v1/coordination/capabilities", "status": 200, "contract_version": "0.3.0"})),
        # Deployed, but nobody wrote a worklog.
        _item("ENC-TSK-B10-0A", "MCP server health tool", h.by_key["b10"].committed - day,
              (h.by_key["b10"].committed + timedelta(hours=2), "reopened", "Reopened for follow-up UI work.")),
        _item("ENC-TSK-A38", "Governance refresh", h.by_key["pr109"].committed - day),
        _item("ENC-TSK-345", "Lazy-load tracker board", h.by_key["fe-board"].committed - day),
        _item("ENC-TSK-355", "Raise API stage throttling", h.by_key["cfn"].committed - day),
        _item("ENC-TSK-360", "Board filters", h.by_key["fe-filters"].committed - day),
        # Complete evidence wrapped in text that reports must not render as markup.
        _item("ENC-TSK-361", "Paginate tracker search results", h.by_key["tsk361"].committed - day,
              (later("tsk361", 9), "worklog",
               _evidence(shas["tsk361"], modified("tsk361")) + " <script>alert(1)</script> "
               "see [runbook](javascript:alert(1)) cc @NX-2021-L/maintainers | col |\n# not a heading")),
        _item("ENC-TSK-365", "UI polish", h.by_key["pr112"].committed - day),
        # The failed deploy, and the forbidden workaround it led to.
        _item("ENC-TSK-370", "Rate-limit coordination request submissions", h.by_key["tsk370"].committed - day,
              (later("tsk370", 25), "worklog",
               f"api-mcp-backend-deploy failed for commit {shas['tsk370'][:12]}: {FUNCTION} "
               f"LastModified={lambda_time(modified('tsk370'))} State=Active LastUpdateStatus=Failed. "
               "Submitted REQ-20260318T181500Z-9c4e1f through the deployment manager instead.")),
        _item("ENC-TSK-B10-0B", "Feed empty state", h.by_key["pr114"].committed - day),
        # Its deploy is still being re-run: no evidence to write yet.
        _item("ENC-TSK-368", "Record who submitted each dispatch plan", h.by_key["tsk368"].committed - day),
    ]
    return {
        "table": TRACKER_TABLE,
        "project": REPO,
        "items": {item["item_id"]: item for item in items},
        # Referenced by pr110 (branch, subject and body) but never created in the tracker.
        "missing": ["ENC-TSK-352"],
    }
