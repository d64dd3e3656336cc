"""A whole governed system at benchmark scale: repository, runs, worklogs, AWS state, config, snapshot.

``build(n, workdir)`` makes ``workdir`` hold

- ``repo.git``: ``make_history.generate`` with N first-parent commits, ending before today so no
  check sees commits from the future;
- ``data/*.json``: the other sources as the live collectors would return them, joined to the
  repository by real SHAs: one push run of the canonical workflow per in-scope change, about one
  in three successful and the rest cancelled (by the next push) or failed; jobs only for the run
  that produced the Lambda's LastModified (what ``collect_github`` fetches); a tracker item per
  task named by an in-scope change, most with a worklog naming the task's latest change, the
  LastModified and the validation outcome; the Lambda, the HTTP API routes, a capability probe
  and a few deploy-manager requests;
- ``compliance.yaml``: git read live from ``repo.git``, every other source from its file, so
  ``compliance audit`` runs the real pipeline without network;
- ``snapshot.json``: what ``compliance collect`` writes for that config over the whole history.

Everything is derived from a fixed seed, so the same N gives the same system (and the same
figures) on every run. ``workdir/stamp`` records what was built; a matching stamp is reused.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from benchmarks.make_history import MEAN_GAP, RUNBOOK, SCOPED_API, generate
from compliance.base import synthetic

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
# What the fixture is built from: this generator, the history writer and the shared synthetic helpers. A
# hand-bumped version was forgotten once (a fixture without the cloudtrail source was reused), so the stamp is
# the digest of their sources: any edit rebuilds.
FORMAT_VERSION = hashlib.sha256(b"".join(
    (Path(__file__).parent / name).read_bytes() for name in ("history_data.py", "make_history.py")
) + Path(synthetic.__file__).read_bytes()).hexdigest()[:16]
END = 1_780_272_000  # 2026-06-01T00:00:00Z: the history ends before "today" for any run after that
REPO = "NX-2021-L/enceladus"
WORKFLOW = ".github/workflows/api-mcp-backend-deploy.yml"
FUNCTION = "devops-coordination-api"
REGION = "us-west-2"
ACCOUNT = "123456789012"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"
DEPLOY_STEP = "Deploy coordination API + MCP runtime"
CAPABILITY_URL = "https://k3x9q2m7vd.execute-api.us-west-2.amazonaws.com/api/v1/coordination/capabilities"
ROUTES = (
    "GET /api/v1/coordination/capabilities",
    "POST /api/v1/coordination/requests",
    "GET /api/v1/coordination/requests/{requestId}",
    "GET /api/v1/coordination/mcp",
    "POST /api/v1/coordination/mcp",
)
UTC = timezone.utc


def z(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def lambda_time(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def parse_z(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def in_scope_rule_scope():
    """APIMCP-001's scope, read from the shipped rules so the data follows any change to them."""
    from compliance.inputs.rules import load_rules

    rules = load_rules([str(POLICIES)]).rules
    return next(r.scope for r in rules if r.id == "APIMCP-001")


def _steps(start: datetime, deploy_seconds: int) -> tuple[list[dict[str, Any]], datetime]:
    return synthetic.completed_steps(start, [("Set up job", 2), ("Checkout", 3), ("Configure AWS credentials", 2),
                                             (DEPLOY_STEP, deploy_seconds), ("Validate deployed Lambda state", 4),
                                             ("Complete job", 1)])


def make_runs(changes: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """One push run per in-scope change: ~1/3 success, the rest cancelled by the next push or failed."""
    runs = []
    for i, commit in enumerate(changes):
        created = parse_z(commit["committed_at"]) + timedelta(seconds=4)
        started = created + timedelta(seconds=3)
        roll = rng.random()
        if roll < 1 / 3:
            conclusion, finished = "success", started + timedelta(seconds=rng.randint(150, 260))
        elif roll < 0.85 and i + 1 < len(changes):
            nxt = parse_z(changes[i + 1]["committed_at"]) + timedelta(seconds=9)
            conclusion, finished = "cancelled", max(nxt, started + timedelta(seconds=20))
        else:
            conclusion, finished = "failure", started + timedelta(seconds=rng.randint(40, 120))
        run_id = 13_000_000_000 + i * 7919
        runs.append({
            "id": run_id, "name": "API + MCP backend deploy", "head_branch": "main", "head_sha": commit["sha"],
            "path": WORKFLOW, "display_title": commit["subject"], "event": "push", "status": "completed",
            "conclusion": conclusion, "run_number": 1000 + i, "run_attempt": 1,
            "html_url": f"https://github.com/{REPO}/actions/runs/{run_id}",
            "created_at": z(created), "updated_at": z(finished), "run_started_at": z(started),
            "head_commit": {"message": commit["subject"]},
        })
    return runs


def _last_success_with_jobs(runs: list[dict[str, Any]]) -> tuple[dict[str, Any], datetime]:
    """Attach jobs to the last successful run (the one near LastModified) and return LastModified."""
    last = next(r for r in reversed(runs) if r["conclusion"] == "success")
    steps, end = _steps(parse_z(last["run_started_at"]), 95)
    last["jobs"] = [{"name": "Deploy coordination API + MCP runtime", "status": "completed",
                     "conclusion": "success", "started_at": last["run_started_at"], "completed_at": z(end),
                     "steps": steps}]
    deploy = next(s for s in steps if s["name"] == DEPLOY_STEP)
    return last, parse_z(deploy["started_at"]) + timedelta(seconds=61)


def make_tracker(changes: list[dict[str, Any]], runs: list[dict[str, Any]], rng: random.Random
                 ) -> dict[str, Any]:
    """An item per task named by an in-scope change; ~88% carry complete evidence of the latest one."""
    covering: list[dict[str, Any] | None] = [None] * len(changes)
    nxt = None
    for i in range(len(changes) - 1, -1, -1):  # the first successful run at or after each change
        if runs[i]["conclusion"] == "success":
            nxt = runs[i]
        covering[i] = nxt
    latest: dict[str, int] = {}
    for i, commit in enumerate(changes):
        for task in commit["task_ids"]:
            latest[task] = i
    items: dict[str, Any] = {}
    missing = []
    for task in sorted(latest):
        i = latest[task]
        commit, run = changes[i], covering[i]
        roll = rng.random()
        if roll < 0.04:
            missing.append(task)
            continue
        created = parse_z(commit["committed_at"]) - timedelta(days=1)
        history = [{"timestamp": z(created), "status": "created", "description": f"Created task: work for {task}"}]
        if roll < 0.92 and run is not None:
            modified = parse_z(run["run_started_at"]) + timedelta(seconds=68)
            status = "Failed" if roll < 0.06 else "Successful"
            history.append({"timestamp": z(parse_z(run["updated_at"]) + timedelta(minutes=12)), "status": "worklog",
                            "description": f"Deployed commit {commit['sha'][:12]} via api-mcp-backend-deploy; "
                                           f"{FUNCTION} LastModified={lambda_time(modified)} State=Active "
                                           f"LastUpdateStatus={status}; GET /api/v1/coordination/capabilities -> 200"})
        else:
            history.append({"timestamp": z(created + timedelta(hours=3)), "status": "worklog",
                            "description": "Implementation merged; deploy pending."})
        items[task] = {"item_id": task, "record_id": f"task#{task}", "title": f"Work for {task}",
                       "status": "closed", "history": history}
    return {"table": "devops-project-tracker", "project": "enceladus", "items": items, "missing": missing}


def make_aws(modified: datetime) -> dict[str, dict[str, Any]]:
    lam = {"function": FUNCTION, "configuration": {
        "FunctionName": FUNCTION, "FunctionArn": FUNCTION_ARN, "Runtime": "python3.11", "State": "Active",
        "LastUpdateStatus": "Successful", "LastModified": lambda_time(modified),
        "CodeSha256": "Z2V0LW9uZS1zaGEyNTYtb2YtdGhlLWNvZGUtcGFja2E=",
        "RevisionId": "6b0e6c9a-4c1f-4d7e-9a0b-1c2d3e4f5a6b", "Version": "$LATEST"}}
    keys = list(ROUTES) + sorted({"OPTIONS " + k.split(" ", 1)[1] for k in ROUTES})
    api = {"api": {"ApiId": "k3x9q2m7vd", "Name": "devops-tracker-api",
                   "ApiEndpoint": "https://k3x9q2m7vd.execute-api.us-west-2.amazonaws.com"},
           "routes": [{"RouteId": f"r{i:06d}", "RouteKey": k, "Target": "integrations/7hq2c1p",
                       "AuthorizationType": "NONE"} for i, k in enumerate(keys)],
           "integrations": [{"IntegrationId": "7hq2c1p", "IntegrationType": "AWS_PROXY",
                             "IntegrationUri": FUNCTION_ARN, "PayloadFormatVersion": "2.0"}]}
    probe = {"url": CAPABILITY_URL, "status_code": 200, "latency_ms": 87, "well_formed": True, "problems": [],
             "body": {"success": True, "capabilities": {"contract_version": "0.3.0"}}}
    return {"lambda": lam, "apigateway": api, "probe": probe}


WORKFLOW_ROLE = f"arn:aws:iam::{ACCOUNT}:role/github-actions-deploy"


def make_trail(runs: list[dict[str, Any]], last: dict[str, Any], modified: datetime) -> dict[str, Any]:
    """The cloudtrail source's data: the pipeline's upload a minute into every successful run (the last one's
    at the function's LastModified), as the checks that read CloudTrail (deploy_coverage,
    lambda_deploy_match, deploy_principal) expect to find it."""
    session = {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/github-actions-deploy/GitHubActions",
               "accountId": ACCOUNT, "sessionCredentialFromConsole": False,
               "sessionIssuer": {"type": "Role", "arn": WORKFLOW_ROLE, "accountId": ACCOUNT}}
    at = {r["id"]: parse_z(r["run_started_at"]) + timedelta(minutes=1) for r in runs}
    at[last["id"]] = modified
    events = [{"eventID": f"bench-{r['id']}", "eventTime": z(at[r["id"]]),
               "eventName": "UpdateFunctionCode20150331v2", "functionName": FUNCTION, "userIdentity": session}
              for r in runs if r["conclusion"] == "success"]
    return {"function": FUNCTION, "region": REGION, "read": ["s3"],
            "events": sorted(events, key=lambda e: (e["eventTime"], e["eventID"]))}


def make_deploy_manager(end: datetime) -> dict[str, Any]:
    def request(rid: str, dtype: str, files: list[str], config: dict[str, Any] | None = None) -> dict[str, Any]:
        row = {"record_id": f"request#{rid}", "request_id": rid, "status": "included", "deployment_type": dtype,
               "submitted_at": z(end), "submitted_by": "enceladus-agent", "summary": rid, "changes": [rid],
               "related_record_ids": [], "files_changed": files}
        if config:
            row["non_ui_config"] = json.dumps(config, sort_keys=True)
        return row

    stamp = end.strftime("%Y%m%dT%H%M%SZ")
    return {"table": "devops-deployment-manager",
            "requests": [request(f"REQ-{stamp}-a1b2c3", "github_public_static", ["frontend/ui/src/pages/Board.tsx"]),
                         request(f"REQ-{stamp}-9c4e1f", "lambda_update", [f"{SCOPED_API}/handlers/mod_01.py"],
                                 {"service_group": "coordination_api", "target_arn": FUNCTION_ARN})],
            "specs": [{"record_id": f"spec#SPEC-{stamp}", "spec_id": f"SPEC-{stamp}", "status": "queued_non_ui",
                       "deployment_category": "non_ui", "non_ui_target_arns": [FUNCTION_ARN],
                       "request_ids": [f"REQ-{stamp}-9c4e1f"]}]}


def _write_json(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")


class System:
    """Paths of one built system, and the window that covers its whole history."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.repo = workdir / "repo.git"
        self.config = workdir / "compliance.yaml"
        self.snapshot = workdir / "snapshot.json"
        self.facts = json.loads((workdir / "stamp").read_text()) if (workdir / "stamp").exists() else {}

    @property
    def since(self) -> str:
        return self.facts["since"]

    @property
    def until(self) -> str:
        return self.facts["until"]


def build(n: int, workdir: Path, log=print) -> System:
    """Build (or reuse) the N-commit system in ``workdir``."""
    from compliance.app.collect import collect
    from compliance.base.timeutil import parse_bound
    from compliance.inputs.config import load_config
    from compliance.inputs.rules import load_rules
    from compliance.model.snapshot import canonical_json
    from compliance.sources.git import collect_git

    stamp = workdir / "stamp"
    if stamp.exists():
        facts = json.loads(stamp.read_text())
        if facts.get("n") == n and facts.get("format") == FORMAT_VERSION:
            return System(workdir)
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    sysm = System(workdir)
    t0 = datetime.now()
    start = END - n * MEAN_GAP
    counts = generate(n, str(sysm.repo), start=start)
    git = collect_git(str(sysm.repo), "main", None)
    scope = in_scope_rule_scope()
    changes = [c for c in git["commits"] if any(scope.matches(f["path"]) for f in c["files"])]
    rng = random.Random(f"history-data-{n}")
    runs = make_runs(changes, rng)
    last_ok, modified = _last_success_with_jobs(runs)
    tracker = make_tracker(changes, runs, rng)
    data = workdir / "data"
    data.mkdir()
    runs_listed = sorted(runs, key=lambda r: r["created_at"], reverse=True)  # the REST listing is newest first
    _write_json(data / "github.json", {"repository": REPO, "workflow": WORKFLOW, "runs": runs_listed})
    _write_json(data / "tracker.json", tracker)
    for name, doc in make_aws(modified).items():
        _write_json(data / f"{name}.json", doc)
    last = parse_z(git["commits"][-1]["committed_at"])
    _write_json(data / "deploy_manager.json", make_deploy_manager(last - timedelta(days=2)))
    _write_json(data / "cloudtrail.json", make_trail(runs, last_ok, modified))
    config = {
        "version": 1,
        "target": {"name": f"benchmark-{n}", "repo": "repo.git", "github_repo": REPO, "branch": "main",
                   "workflow": WORKFLOW, "deploy_script": f"{SCOPED_API}/deploy.sh", "runbook": RUNBOOK,
                   "region": REGION,
                   "function": FUNCTION, "http_api": "devops-tracker-api", "capability_url": CAPABILITY_URL,
                   "tracker": {"table": "devops-project-tracker", "project": "enceladus"},
                   "deploy_manager": {"table": "devops-deployment-manager", "project": "enceladus"},
                   "cloudtrail": {"bucket": "org-cloudtrail", "account": "123456789012"},
                   "principals": {"workflow_role": WORKFLOW_ROLE}},
        "policies": [str(POLICIES)],
        "reports_dir": "reports",
        "sources": {name: {"file": f"data/{name}.json"}
                    for name in ("github", "lambda", "apigateway", "tracker", "deploy_manager", "probe", "cloudtrail")},
    }
    sysm.config.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    first = parse_z(git["commits"][0]["committed_at"])
    since, until = z(first - timedelta(days=1)), z(last + timedelta(days=1))
    cfg = load_config(str(sysm.config))
    ruleset = load_rules(cfg.policies)
    snap = collect(cfg, ruleset, parse_bound(since), parse_bound(until))
    # canonical_json without save_snapshot's schema validation: `evaluate` validates on load anyway,
    # and validating a 100,000-commit snapshot here would double the build time.
    sysm.snapshot.write_text(canonical_json(snap), encoding="utf-8")
    facts = {"n": n, "format": FORMAT_VERSION, "since": since, "until": until, "commits": len(git["commits"]),
             "in_scope": len(changes), "runs": len(runs),
             "successful_runs": sum(r["conclusion"] == "success" for r in runs),
             "tasks": len(tracker["items"]) + len(tracker["missing"]),
             "worklogs": sum(1 for it in tracker["items"].values() for h in it["history"] if h["status"] == "worklog"),
             "snapshot_mb": round(sysm.snapshot.stat().st_size / 1e6, 1), "kinds": counts,
             "build_seconds": round((datetime.now() - t0).total_seconds(), 1)}
    stamp.write_text(json.dumps(facts, indent=1) + "\n")
    sysm.facts = facts
    log(f"built the {n}-commit system in {facts['build_seconds']}s at {workdir}")
    return sysm
