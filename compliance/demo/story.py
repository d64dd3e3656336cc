"""The demo's story: every commit of the sample repository, oldest first, and why it is there."""

from __future__ import annotations

from compliance.demo.history import Change, History
from compliance.demo.system import (
    AGENT,
    API_DIR,
    DEPLOY_SCRIPT,
    DICTIONARY,
    MCP_DIR,
    NOTE,
    OWNER_P,
    PDT,
    PST,
    UTC,
    WORKFLOW,
    at,
)
from compliance.demo.tree import dictionary, file_text, tsx, workflow_v4


def _put(path: str, content: str) -> Change:
    def apply(tree: dict[str, str]) -> None:
        tree[path] = content

    return apply


def _append(path: str, text: str) -> Change:
    def apply(tree: dict[str, str]) -> None:
        tree[path] = tree[path] + text

    return apply


def _replace(path: str, old: str, new: str) -> Change:
    def apply(tree: dict[str, str]) -> None:
        if old not in tree[path]:
            raise ValueError(f"demo history out of sync: {old!r} not in {path}")
        tree[path] = tree[path].replace(old, new)

    return apply


def _move(old: str, new: str) -> Change:
    def apply(tree: dict[str, str]) -> None:
        tree[new] = tree.pop(old)

    return apply


def story() -> History:
    """The demo's story, oldest first. Keys name commits for the data builders below."""
    h = History()
    api, mcp = f"{API_DIR}/lambda_function.py", f"{MCP_DIR}/server.py"
    plan = f"{MCP_DIR}/dispatch_plan_generator.py"
    fe = "frontend/ui/src"

    h.root("root", "Initial import of enceladus monorepo", OWNER_P, at("2026-02-12T10:00:00", PST))

    h.direct("fe-spacing", "frontend: tighten feed card spacing", OWNER_P,
             at("2026-02-20T10:15:00", PST),
             _replace(f"{fe}/components/FeedCard.tsx", "card p-2", "card p-3 gap-2"))

    h.pr_merge("pr101", 101, "agent/enc-tsk-325-capabilities",
               "ENC-TSK-325 expose capabilities contract version", OWNER_P,
               at("2026-02-21T01:10:00", UTC), [
                   ("pr101-a", "ENC-TSK-325: expose contract_version 0.3.0 in capabilities", AGENT,
                    at("2026-02-20T16:40:00", PST), [_replace(api, '"0.2.0"', '"0.3.0"')]),
                   ("pr101-b", "ENC-TSK-325: regenerate governance data dictionary", AGENT,
                    at("2026-02-20T16:52:00", PST), [_put(DICTIONARY, dictionary(2))]),
               ])

    h.squash("dict-102", 102, "Regenerate governance data dictionary", AGENT,
             at("2026-02-22T10:30:00", PST), _put(DICTIONARY, dictionary(3)), body="Refs ENC-TSK-330")

    # The runbook itself reaches main only through this merge (never as a first-parent commit).
    h.pr_merge("pr103", 103, "agent/ENC-TSK-340-deploy-runbook",
               "Document the API + MCP deployment process (ENC-TSK-340)", OWNER_P,
               at("2026-02-23T19:45:00", UTC), [
                   ("pr103-a", "docs: add API + MCP deployment runbook (ENC-TSK-340)", AGENT,
                    at("2026-02-23T09:00:00", PST), [_put("docs/runbooks/api-mcp-deploy.md", file_text("api-mcp-deploy.md"))]),
                   ("pr103-b", "AGENTS.md: point agents at the API/MCP deploy runbook", AGENT,
                    at("2026-02-23T09:20:00", PST), [_append("AGENTS.md", file_text("AGENTS-runbook-section.md"))]),
               ])

    h.squash("iss640", 104, "Fix MCP dispatch plan ordering for dependent tasks", AGENT,
             at("2026-02-24T13:05:00", PST),
             _replace(plan, "    for task in tasks:",
                      "    for task in sorted(tasks, key=lambda t: len(t.get(\"depends_on\", []))):"),
             body="* ENC-ISS-640: dispatch plans emitted dependent steps before their prerequisites")

    h.direct("fe-nav", "frontend: fix mobile nav overflow (ENC-TSK-331)", OWNER_P,
             at("2026-02-25T08:10:00", PST),
             _replace(f"{fe}/components/NavBar.tsx", '"flex"', '"flex overflow-x-auto"'))

    # Three triggering pushes within minutes: the middle run is cancelled while pending.
    h.direct("dict-regen", "chore: regenerate governance data dictionary", AGENT,
             at("2026-02-25T09:00:00", PST), _put(DICTIONARY, dictionary(4)))
    h.pr_merge("pr105", 105, "agent/enc-tsk-734-fix",
               "ENC-TSK-734 retry conditional writes on coordination request updates", OWNER_P,
               at("2026-02-25T17:03:00", UTC), [
                   ("pr105-a", "enc-tsk-734: retry conditional writes on request state transitions", AGENT,
                    at("2026-02-24T15:00:00", PST),
                    [_append(api, "\n\nMAX_CONDITIONAL_RETRIES = 3\n")]),
                   ("pr105-b", "fix lint", AGENT, at("2026-02-24T15:30:00", PST),
                    [_replace(api, "\n\nMAX_CONDITIONAL_RETRIES", "\nMAX_CONDITIONAL_RETRIES")]),
               ])
    h.direct("f65", "ENC-TSK-F65 tighten MCP tool input schema validation", AGENT,
             at("2026-02-25T09:05:00", PST),
             _replace(mcp, '"required": ["query"]}', '"required": ["query"], "additionalProperties": False}'))

    h.pr_merge("pr106", 106, "feature/ui-dashboard", "ENC-FTR-056 project dashboard", OWNER_P,
               at("2026-02-26T22:00:00", UTC), [
                   ("pr106-a", "ENC-FTR-056 dashboard widgets", OWNER_P, at("2026-02-26T11:00:00", PST),
                    [_put(f"{fe}/pages/Dashboard.tsx", tsx("Dashboard", "<main />"))]),
                   ("pr106-b", "move FeedCard under components/feed", OWNER_P,
                    at("2026-02-26T11:30:00", PST),
                    [_move(f"{fe}/components/FeedCard.tsx", f"{fe}/components/feed/FeedCard.tsx")]),
               ])

    h.squash("tsk1005", 107, "Add coordination request status route ENC-TSK-1005", AGENT,
             at("2026-02-27T15:15:00", PST),
             _append(api, '\nSTATUS_ROUTE = "GET /api/v1/coordination/requests/{requestId}"\n'),
             _replace(DEPLOY_SCRIPT, 'echo "deployed', '# status route ensured above\necho "deployed'),
             _replace(f"{API_DIR}/models/request.py", '"created_at")', '"created_at", "retry_count")'),
             _put(DICTIONARY, dictionary(5)))

    tip = h.branch("notes-fr", [
        ("notes-a", "docs: deployment notes (FR)", OWNER_P, at("2026-02-28T10:50:00", PST),
         [_put(NOTE, "# Notes de déploiement\n\nLe déploiement API/MCP passe par le workflow canonique.\n")]),
    ])
    h.merge("merge-notes", "Merge branch 'notes-fr'", "", tip, OWNER_P, at("2026-02-28T11:20:00", PST))

    h.direct("fe-dm", "frontend: deployment manager form copy edits", OWNER_P,
             at("2026-03-01T02:10:00", PST),
             _replace(f"{fe}/pages/Deployments.tsx", "<form />", '<form aria-label="deploy request" />'))

    h.squash("b10", 108, "ENC-TSK-B10-0A: add MCP server health tool", AGENT,
             at("2026-03-02T11:40:00", PST),
             _replace(mcp, '    "tracker_search"', '    "health": {"input": {"type": "object"}},\n    "tracker_search"'))

    h.pr_merge("pr109", 109, "agent/ENC-TSK-A38-governance", "ENC-TSK-A38 governance refresh", OWNER_P,
               at("2026-03-03T16:00:00", UTC), [
                   ("pr109-a", "ENC-TSK-A38 governance: refresh data dictionary and AGENTS notes", AGENT,
                    at("2026-03-03T07:30:00", PST),
                    [_put(DICTIONARY, dictionary(6)),
                     _append("AGENTS.md", "\nTracker ids after ENC-TSK-999 use three base-36 characters.\n")]),
               ])

    h.direct("boto3", "Bump boto3 in coordination api requirements", OWNER_P,
             at("2026-03-04T14:25:00", PST), _put(f"{API_DIR}/requirements.txt", "boto3==1.34.60\n"))

    h.direct("fe-board", "frontend: lazy-load tracker board (ENC-TSK-345)", OWNER_P,
             at("2026-03-05T09:30:00", PST),
             _replace(f"{fe}/pages/Board.tsx", "<section />", '<section data-lazy="true" />'))

    h.pr_merge("pr110", 110, "agent/enc-tsk-352-mcp-readme", "ENC-TSK-352 document MCP server tools", OWNER_P,
               at("2026-03-06T18:20:00", UTC), [
                   ("pr110-a", "ENC-TSK-352 document MCP server tools", AGENT, at("2026-03-06T09:00:00", PST),
                    [_put(f"{MCP_DIR}/README.md", "# Enceladus MCP server\n\nTools: dispatch_plan, health, "
                          "tracker_search.\n")]),
               ])

    h.direct("cfn", "ENC-TSK-355 raise API stage throttling limits", OWNER_P,
             at("2026-03-07T11:00:00", PST),
             _replace("infrastructure/cloudformation/03-api.yaml", "ThrottlingBurstLimit: 50",
                      "ThrottlingBurstLimit: 100"))

    h.direct("fe-filters", "frontend: board filters (enc-tsk-360)", OWNER_P,
             at("2026-03-09T10:10:00", PDT),
             _replace(f"{fe}/pages/Board.tsx", 'data-lazy="true"', 'data-lazy="true" data-filters="on"'))

    h.squash("tsk361", 111, "ENC-TSK-361 MCP: paginate tracker search results", AGENT,
             at("2026-03-10T10:45:00", PDT),
             _replace(mcp, "    return {\"result\": []}", "    return {\"result\": [], \"next_token\": None}"),
             _append(api, "\nSEARCH_PAGE_SIZE = 50\n"),
             _append(f"{API_DIR}/models/request.py", 'PAGE_FIELDS = ("next_token",)\n'))

    h.direct("ci-pin", "ci: pin aws-actions/configure-aws-credentials to v4", OWNER_P,
             at("2026-03-12T08:40:00", PDT), _put(WORKFLOW, workflow_v4()))

    h.pr_merge("pr112", 112, "agent/enc-tsk-365-ui-polish", "ENC-TSK-365 UI polish", OWNER_P,
               at("2026-03-13T20:30:00", UTC), [
                   ("pr112-a", "ENC-TSK-365 ui polish", AGENT, at("2026-03-13T12:00:00", PDT),
                    [_replace(f"{fe}/pages/Dashboard.tsx", "<main />", '<main className="grid" />')]),
               ])

    h.direct("note-edit", "docs: clarify worklog format in deployment notes", OWNER_P,
             at("2026-03-15T09:00:00", PDT),
             _append(NOTE, "\nPreuve : commit, LastModified, résultat de la validation.\n"))

    # Its push run failed; the re-run of that run is in progress when the demo collects: pending.
    h.squash("tsk368", 115, "ENC-TSK-368: record who submitted each MCP dispatch plan", AGENT,
             at("2026-03-16T11:20:00", PDT),
             _append(plan, "\nPLAN_AUDIT_FIELDS = (\"submitted_by\", \"submitted_at\")\n"))

    # The last in-scope change: its run fails and nothing deploys after it.
    h.squash("tsk370", 113, "ENC-TSK-370: rate-limit coordination request submissions", AGENT,
             at("2026-03-17T15:10:00", PDT),
             _append(api, "\nRATE_LIMIT_PER_MINUTE = 30\n"), _put(DICTIONARY, dictionary(7)))

    h.direct("fe-banner", "frontend: rate limit banner (ENC-TSK-370)", AGENT,
             at("2026-03-18T10:30:00", PDT),
             _put(f"{fe}/components/RateLimitBanner.tsx", tsx("RateLimitBanner", "<aside />")))

    h.pr_merge("pr114", 114, "agent/enc-tsk-b10-0b-ui", "ENC-TSK-B10-0B feed empty state", OWNER_P,
               at("2026-03-19T17:00:00", UTC), [
                   ("pr114-a", "enc-tsk-b10-0b feed empty state", AGENT, at("2026-03-19T09:00:00", PDT),
                    [_replace(f"{fe}/components/feed/FeedCard.tsx", "gap-2", "gap-2 empty:hidden")]),
               ])

    h.direct("agents-wording", "docs: AGENTS.md wording", OWNER_P, at("2026-03-20T12:00:00", PDT),
             _replace("AGENTS.md", "Record worklogs", "Always record worklogs"))

    # As in enceladus: the runbook's Scope gains 03-api.yaml, deployed by its own CloudFormation workflow; the
    # rules' scopes were not updated, so the runbook and the rules now disagree (runbook_sync).
    h.direct("runbook-cfn", "docs: the API stack deploys by its own workflow (ENC-FTR-023)", OWNER_P,
             at("2026-03-20T15:00:00", PDT),
             _put("docs/runbooks/api-mcp-deploy.md", file_text("api-mcp-deploy-v2.md")),
             _put(".github/workflows/cloudformation-api-stack-deploy.yml",
                  file_text("cloudformation-api-stack-deploy.yml")))
    return h
