"""The demo must be a faithful, self-consistent sample: real git, schema-valid data, real joins.

Everything the pipeline joins (run -> commit, worklog -> commit, LastModified -> deploy step,
request -> function) is asserted here, so a demo that drifts from its own story fails loudly
instead of producing a report with the wrong verdicts.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import socket
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

import compliance
from compliance import demo
from compliance.demo.fastimport import fast_import_stream
from compliance.demo.story import story
from compliance.demo.trail import WORKFLOW_ROLE

SCHEMA = json.loads((Path(compliance.__file__).parent / "model" / "schemas" / "snapshot.schema.json").read_text())
SOURCES = ["github", "lambda", "apigateway", "tracker", "deploy_manager", "cloudtrail"]
SCOPE = ("backend/lambda/coordination_api/", "tools/enceladus-mcp-server/")


def _git(repo: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    return subprocess.run(["git", "-c", "core.quotepath=off", *args], cwd=repo, env=env, check=True,
                          capture_output=True).stdout.decode("utf-8")


def _utc(text: str) -> datetime:
    text = text.replace("Z", "+00:00")
    if text.endswith("+0000"):
        text = text[:-5] + "+00:00"
    return datetime.fromisoformat(text).astimezone(timezone.utc)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    return root, demo.build_demo(root)


@pytest.fixture(scope="module")
def repo(built) -> Path:
    return built[0] / "enceladus"


@pytest.fixture(scope="module")
def data(built) -> dict[str, dict]:
    return {name: json.loads((built[0] / "data" / f"{name}.json").read_text(encoding="utf-8")) for name in SOURCES}


@pytest.fixture(scope="module")
def first_parent(repo) -> list[dict]:
    """First-parent chain, oldest first, with what each commit changed against its first parent."""
    log = _git(repo, "log", "--first-parent", "--reverse", "--format=%x1e%H%x00%P%x00%cI%x00%s%x00%b%x00", "main")
    commits = []
    for record in log.split("\x1e")[1:]:
        sha, parents, committed, subject, body, _ = record.split("\x00")
        files = _git(repo, "diff-tree", "--no-commit-id", "--root", "-r", "--name-only", "-m", "--first-parent",
                     sha).split()
        commits.append({"sha": sha, "parents": parents.split(), "committed": committed, "subject": subject,
                        "body": body.strip(), "files": files})
    return commits


def _in_scope(files: list[str]) -> bool:
    return any(f.startswith(SCOPE) and not f.endswith("governance_data_dictionary.json") for f in files)


def test_builds_into_a_clean_checkout(built, repo):
    _, config = built
    assert config == built[0] / "compliance.yaml"
    assert _git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert _git(repo, "status", "--porcelain") == ""
    assert _git(repo, "for-each-ref", "--format=%(refname)").split() == ["refs/heads/main"]
    _git(repo, "fsck", "--strict", "--no-progress")
    for path in ("backend/lambda/coordination_api/deploy.sh", "backend/lambda/coordination_api/lambda_function.py",
                 "backend/lambda/coordination_api/governance_data_dictionary.json",
                 "tools/enceladus-mcp-server/server.py", "tools/enceladus-mcp-server/dispatch_plan_generator.py",
                 "docs/runbooks/api-mcp-deploy.md", "AGENTS.md", "docs/notes/déploiement.md"):
        assert (repo / path).is_file(), path
    assert os.access(repo / "backend/lambda/coordination_api/deploy.sh", os.X_OK)
    assert "docs/runbooks/api-mcp-deploy.md" in (repo / "AGENTS.md").read_text()



def test_a_relative_workdir_builds_the_same_demo(tmp_path, monkeypatch, built):
    # `compliance demo --workdir w` from another directory: git runs inside the repository, so a relative
    # path handed on unresolved was read from there ("No such file or directory: w/enceladus/.git/demo-marks")
    monkeypatch.chdir(tmp_path)
    config = demo.build_demo(Path("w"))
    assert config == tmp_path / "w" / "compliance.yaml" and config.is_file()
    head = _git(tmp_path / "w" / "enceladus", "rev-parse", "HEAD").strip()
    assert head == _git(built[0] / "enceladus", "rev-parse", "HEAD").strip()


# sha256 of the runbook as the task's specification gives it (2,243 bytes), recorded when the copy was made:
# the test reads nothing outside the repository.
RUNBOOK_SHA256 = "c835572dc6cda287c5b98dce75377b162d67bc99eadb0e7328151aab527d7db0"
# sha256 of the demo's fast-import stream: every SHA in the demo (and in its waivers) follows from it, so a
# refactoring of the story, the files or the writer must leave it byte-identical. Change it only with the story.
STREAM_SHA256 = "29cf33c9ce8e18ef09dbc669f4b2f29dcd32ee3480fb8c78e3effb1752a77d5b"  # + the runbook's 03-api.yaml commit


def test_runbook_copy_is_the_spec_text(repo):
    """The runbook's first version is the spec text; later, as in enceladus, its Scope gains 03-api.yaml
    with an automation section of its own (the drift runbook_sync reports against the rules)."""
    added = _git(repo, "log", "--all", "--diff-filter=A", "--format=%H", "--", "docs/runbooks/api-mcp-deploy.md").split()
    shipped = _git(repo, "show", f"{added[0]}:docs/runbooks/api-mcp-deploy.md").encode("utf-8")
    assert hashlib.sha256(shipped).hexdigest() == RUNBOOK_SHA256
    assert shipped.decode("utf-8") == demo.file_text("api-mcp-deploy.md")
    head = (repo / "docs/runbooks/api-mcp-deploy.md").read_text(encoding="utf-8")
    assert head == demo.file_text("api-mcp-deploy-v2.md") and "`infrastructure/cloudformation/03-api.yaml`" in head
    assert (repo / ".github/workflows/cloudformation-api-stack-deploy.yml").is_file()


def test_fast_import_stream_is_byte_identical():
    stream = fast_import_stream(story())
    assert hashlib.sha256(stream).hexdigest() == STREAM_SHA256
    assert stream.endswith(b"done\n")


def test_every_demo_file_is_package_data():
    """``pyproject.toml`` ships ``demo/files/*``: a file in a subfolder, or a module, would be left out of a wheel."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    package = Path(demo.__file__).parent
    config = tomllib.loads((package.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["compliance"]
    shipped = sorted(p for p in (package / "files").iterdir())
    assert shipped and all(p.is_file() and not p.name.endswith(".py") for p in shipped)
    assert all(any(fnmatch.fnmatch(p.relative_to(package.parent).as_posix(), g) for g in globs) for p in shipped)
    for p in shipped:
        assert demo.file_text(p.name).encode("utf-8") == p.read_bytes()


def test_first_parent_chain_has_every_commit_shape(first_parent):
    window = [c for c in first_parent if c["parents"]]
    assert 25 <= len(window) <= 40
    assert not first_parent[0]["parents"] and _utc(first_parent[0]["committed"]) < _utc(demo.DEMO_SINCE + "T00:00:00Z")
    assert all(_utc(demo.DEMO_SINCE + "T00:00:00Z") <= _utc(c["committed"]) < _utc(demo.DEMO_UNTIL + "T00:00:00Z")
               for c in window)

    pr_merges = [c for c in window if c["subject"].startswith("Merge pull request #")]
    assert len(pr_merges) >= 4
    assert all(len(c["parents"]) == 2 and c["body"] and "from NX-2021-L/" in c["subject"] for c in pr_merges)
    squashes = [c for c in window if c["subject"].endswith(")") and "(#" in c["subject"]]
    assert len(squashes) >= 4 and all(len(c["parents"]) == 1 for c in squashes)
    other = [c for c in window if len(c["parents"]) == 2 and c not in pr_merges]
    assert len(other) == 1
    direct = [c for c in window if len(c["parents"]) == 1 and c not in squashes]
    assert len(direct) >= 8

    offsets = {c["committed"][-6:] for c in window}
    assert {"-08:00", "-07:00", "+00:00"} <= offsets

    text = " ".join(c["subject"] + " " + c["body"] for c in window)
    for token in ("ENC-TSK-325", "ENC-ISS-640", "ENC-TSK-F65", "ENC-TSK-1005", "ENC-TSK-B10-0A", "enc-tsk-734"):
        assert token in text

    dict_only = [c for c in window if c["files"] and all(f.endswith("governance_data_dictionary.json")
                                                         for f in c["files"])]
    assert len(dict_only) >= 2
    untagged = [c for c in window if _in_scope(c["files"]) and "ENC-" not in (c["subject"] + c["body"]).upper()
                and len(c["parents"]) == 1]
    assert len(untagged) == 1
    assert any(f.startswith("frontend/ui/") for c in window for f in c["files"])
    assert any("déploiement" in f for c in window for f in c["files"])


def test_runbook_arrives_only_through_a_merge(repo, first_parent):
    added = _git(repo, "log", "--all", "--diff-filter=A", "--format=%H", "--", "docs/runbooks/api-mcp-deploy.md").split()
    assert len(added) == 1
    assert added[0] not in {c["sha"] for c in first_parent}


def test_workflow_shape_and_its_real_flaws(repo):
    wf = yaml.safe_load((repo / demo.WORKFLOW).read_text())
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads the bare key `on` as a boolean
    assert on["push"]["branches"] == ["main"]
    assert on["push"]["paths"] == ["backend/lambda/coordination_api/**", "tools/enceladus-mcp-server/**", demo.WORKFLOW]
    assert "reason" in on["workflow_dispatch"]["inputs"]
    assert wf["concurrency"]["cancel-in-progress"] is False and "github.ref" in wf["concurrency"]["group"]
    steps = wf["jobs"]["deploy"]["steps"]
    assert "backend/lambda/coordination_api/deploy.sh" in next(s["run"] for s in steps if s["name"] == demo.DEPLOY_STEP)
    validate = next(s["run"] for s in steps if s["name"] == "Validate deployed Lambda state")
    assert "get-function-configuration" in validate and "--output table" in validate
    assert "exit" not in validate and "test " not in validate and "[" not in validate.replace("[?", "")


@pytest.mark.parametrize("name", SOURCES)
def test_data_files_validate_against_the_snapshot_schema(data, name):
    validator = Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": SCHEMA["$defs"]})
    errors = [e.message for e in validator.iter_errors(data[name])]
    assert errors == []


def test_runs_point_at_real_commits_and_bracket_their_deploys(repo, data, first_parent):
    chain = {c["sha"] for c in first_parent}
    runs = data["github"]["runs"]
    for run in runs:
        assert run["head_sha"] in chain
        assert run["html_url"] == f"https://github.com/NX-2021-L/enceladus/actions/runs/{run['id']}"
        assert run["head_commit"]["id"] == run["head_sha"]
        assert run["path"] == demo.WORKFLOW
        if run["status"] == "in_progress":  # the re-run caught mid-deploy
            (step,) = [s for s in run["jobs"][0]["steps"] if s["name"] == demo.DEPLOY_STEP]
            assert step["status"] == "in_progress" and step["completed_at"] is None and run["conclusion"] is None
            assert _utc(run["created_at"]) < _utc(run["run_started_at"]) <= _utc(step["started_at"])
            assert _utc(run["updated_at"]) <= datetime.now(timezone.utc) and run["run_attempt"] == 2
        elif run["conclusion"] != "cancelled":
            (step,) = [s for s in run["jobs"][0]["steps"] if s["name"] == demo.DEPLOY_STEP]
            assert _utc(run["run_started_at"]) <= _utc(step["started_at"]) < _utc(step["completed_at"])
    assert len({r["id"] for r in runs}) == len(runs)
    assert {r["event"] for r in runs} == {"push", "workflow_dispatch"}


def test_run_outcomes_tell_the_designed_story(data, first_parent):
    runs = data["github"]["runs"]
    order = {c["sha"]: i for i, c in enumerate(first_parent)}
    succeeded = {order[r["head_sha"]] for r in runs if r["conclusion"] == "success"}

    in_scope = [i for i, c in enumerate(first_parent) if c["parents"] and _in_scope(c["files"])]
    uncovered = [i for i in in_scope if not any(s >= i for s in succeeded)]
    assert uncovered == in_scope[-2:]  # the change whose run is being re-run (pending), and the last one
    (rerun,) = [r for r in runs if r["status"] == "in_progress"]
    assert order[rerun["head_sha"]] == in_scope[-2] and rerun["conclusion"] is None
    last_runs = [r for r in runs if order[r["head_sha"]] == in_scope[-1]]
    assert [r["conclusion"] for r in last_runs] == ["failure"]
    assert max(order[r["head_sha"]] for r in runs) == in_scope[-1]

    (cancelled,) = [r for r in runs if r["conclusion"] == "cancelled"]
    assert order[cancelled["head_sha"]] in in_scope
    assert any(s > order[cancelled["head_sha"]] for s in succeeded)
    assert not any(s == order[cancelled["head_sha"]] for s in succeeded)

    failures = [r for r in runs if r["conclusion"] == "failure"]
    assert len(failures) == 2
    repaired = [r for r in failures if any(o["head_sha"] == r["head_sha"] and o["event"] == "workflow_dispatch"
                                           and o["conclusion"] == "success" for o in runs)]
    assert len(repaired) == 1


def test_live_code_is_a_console_upload_inside_a_green_runs_deploy_step(data, first_parent):
    """Timing alone would credit the ci-pin run with the live code; its log's CodeSha256 and CloudTrail say otherwise."""
    conf = data["lambda"]["configuration"]
    assert conf["FunctionArn"] == "arn:aws:lambda:us-west-2:123456789012:function:devops-coordination-api"
    assert (conf["State"], conf["LastUpdateStatus"], conf["Version"]) == ("Active", "Failed", "$LATEST")
    assert conf["LastModified"].endswith(".000+0000")
    modified = _utc(conf["LastModified"])
    (green,) = [r for r in data["github"]["runs"] if r["conclusion"] == "success" and r["jobs"]
                and _utc(r["jobs"][0]["steps"][3]["started_at"]) <= modified
                <= _utc(r["jobs"][0]["steps"][3]["completed_at"])]
    assert green["jobs"][0]["steps"][3]["name"] == demo.DEPLOY_STEP
    assert green["artifact"]["code_sha256"] != conf["CodeSha256"]  # the run's log recorded its own build
    at_modified = [e for e in data["cloudtrail"]["events"] if _utc(e["eventTime"]) == modified]
    assert [e["userIdentity"]["sessionCredentialFromConsole"] for e in at_modified] == [True]
    assert at_modified[0]["codeSha256"] == conf["CodeSha256"]
    # the run's own upload came first, by the pipeline's role, returning what its log recorded
    (own,) = [e for e in data["cloudtrail"]["events"] if e.get("codeSha256") == green["artifact"]["code_sha256"]]
    assert _utc(own["eventTime"]) < modified and not own["userIdentity"]["sessionCredentialFromConsole"]
    # the last in-scope change's run failed at its upload, which AWS refused: it changed nothing live
    last_change = [c for c in first_parent if c["parents"] and _in_scope(c["files"])][-1]
    (last,) = [r for r in data["github"]["runs"] if r["head_sha"] == last_change["sha"]]
    step = next(s for s in last["jobs"][0]["steps"] if s["name"] == demo.DEPLOY_STEP)
    assert step["conclusion"] == "failure"
    refused = [e for e in data["cloudtrail"]["events"]
               if _utc(step["started_at"]) <= _utc(e["eventTime"]) <= _utc(step["completed_at"])]
    assert [e.get("errorCode") for e in refused] == ["InvalidParameterValueException"]


def test_every_green_deploy_shows_the_pipelines_upload(data):
    role = WORKFLOW_ROLE
    for run in (r for r in data["github"]["runs"] if r["conclusion"] == "success" and r["jobs"]):
        step = next(s for s in run["jobs"][0]["steps"] if s["name"] == demo.DEPLOY_STEP)
        ups = [e for e in data["cloudtrail"]["events"] if e["userIdentity"]["sessionIssuer"]["arn"] == role
               and _utc(step["started_at"]) <= _utc(e["eventTime"]) <= _utc(step["completed_at"])]
        assert len(ups) == 1 and not ups[0].get("errorCode"), run["id"]


def test_api_routes_all_target_the_function(data):
    api = data["apigateway"]
    assert api["api"]["Name"] == "devops-tracker-api"
    integrations = {i["IntegrationId"]: i for i in api["integrations"]}
    coord = {r["RouteKey"]: r for r in api["routes"] if "/coordination/" in r["RouteKey"]}
    base = ["GET /api/v1/coordination/capabilities", "POST /api/v1/coordination/requests",
            "GET /api/v1/coordination/requests/{requestId}", "GET /api/v1/coordination/mcp",
            "POST /api/v1/coordination/mcp"]
    expected = set(base) | {"OPTIONS " + k.split(" ", 1)[1] for k in base}
    assert set(coord) == expected
    for route in coord.values():
        integration = integrations[route["Target"].removeprefix("integrations/")]
        assert integration["IntegrationType"] == "AWS_PROXY"
        assert integration["IntegrationUri"] == data["lambda"]["configuration"]["FunctionArn"]
        assert integration["PayloadFormatVersion"] == "2.0"


def test_tracker_evidence_refers_to_real_commits(data, first_parent):
    tracker = data["tracker"]
    items = tracker["items"]
    shas = [c["sha"] for c in first_parent]
    for item_id, item in items.items():
        assert item["item_id"] == item_id
        assert item["record_id"].endswith("#" + item_id)
    worklogs = {i: [h["description"] for h in it["history"] if h["status"] == "worklog"] for i, it in items.items()}
    complete = [i for i, logs in worklogs.items()
                if any("LastModified=" in w and "LastUpdateStatus=Successful" in w and "-> 200" in w for w in logs)]
    assert {"ENC-TSK-325", "ENC-TSK-F65", "ENC-TSK-361"} <= set(complete)
    for i in complete:
        cited = next(w for w in worklogs[i] if "Deployed commit" in w).split("Deployed commit ")[1].split(" ")[0]
        assert 7 <= len(cited) <= 12 and any(s.startswith(cited) for s in shas)
    assert worklogs["ENC-ISS-640"] and "LastModified" not in worklogs["ENC-ISS-640"][0]
    assert worklogs["ENC-TSK-B10-0A"] == []
    structured = items["ENC-TSK-1005"]
    assert structured["commit_sha"] in shas and structured["transition_type"] == "lambda_deploy"
    assert json.loads(structured["deploy_evidence"])["commit"] == structured["commit_sha"]
    assert "<script>alert(1)</script>" in worklogs["ENC-TSK-361"][0]
    assert tracker["missing"] == ["ENC-TSK-352"] and "ENC-TSK-352" not in items
    assert any("ENC-TSK-352" in c["subject"] + c["body"] for c in first_parent)


def test_forbidden_request_targets_the_function(data):
    dm = data["deploy_manager"]
    arn = data["lambda"]["configuration"]["FunctionArn"]
    (forbidden,) = [r for r in dm["requests"] if r["deployment_type"] == "lambda_update"]
    assert json.loads(forbidden["non_ui_config"])["target_arn"].endswith("function:devops-coordination-api")
    assert json.loads(forbidden["non_ui_config"])["target_arn"] == arn
    assert all(f.startswith("backend/lambda/coordination_api/") for f in forbidden["files_changed"])
    assert forbidden["record_id"] == "request#" + forbidden["request_id"]
    (spec,) = [s for s in dm["specs"] if s["status"] == "queued_non_ui"]
    assert spec["deployment_category"] == "non_ui" and spec["non_ui_target_arns"] == [arn]
    assert spec["request_ids"] == [forbidden["request_id"]]
    ui = [r for r in dm["requests"] if r is not forbidden]
    assert ui and all(r["deployment_type"].startswith("github_") for r in ui)
    assert all(f.startswith("frontend/") for r in ui for f in r["files_changed"])


def test_config_points_at_the_demo_and_a_closed_port(built):
    root, config_path = built
    config = yaml.safe_load(config_path.read_text())
    target = config["target"]
    assert target["repo"] == "enceladus" and (root / target["repo"] / ".git").is_dir()
    assert config["policies"] == ["builtin:api-mcp-runbook"]  # the rules shipped in the package
    for name in SOURCES:
        assert (root / config["sources"][name]["file"]).is_file()
    url = target["capability_url"]
    assert url.startswith("http://127.0.0.1:") and url.endswith("/api/v1/coordination/capabilities")
    port = int(url.split(":")[2].split("/")[0])
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.settimeout(2)
        sock.connect(("127.0.0.1", port))


def test_refuses_to_overwrite_an_existing_demo(built):
    with pytest.raises(FileExistsError):
        demo.build_demo(built[0])


def test_same_commits_in_every_build(tmp_path, built):
    demo.build_demo(tmp_path / "again")
    first = _git(built[0] / "enceladus", "log", "--all", "--format=%H %T")
    second = _git(tmp_path / "again" / "enceladus", "log", "--all", "--format=%H %T")
    assert first == second
    runs_a = json.loads((built[0] / "data" / "github.json").read_text())
    runs_b = json.loads((tmp_path / "again" / "data" / "github.json").read_text())
    assert _undated(runs_a) == _undated(runs_b)


def _undated(github: dict) -> dict:
    """The runs with the in-progress re-run's times blanked: they are dated relative to the build
    (like the waivers), so that the demo's wall-clock collection finds it still running."""
    out = json.loads(json.dumps(github))
    for run in out["runs"]:
        if run["status"] == "in_progress":
            run["run_started_at"] = run["updated_at"] = None
            for job in run["jobs"]:
                job["started_at"] = None
                for step in job["steps"]:
                    step["started_at"] = step["completed_at"] = None
    return out


def test_demo_commit_keys_are_unique(built):
    keys = demo.demo_commits(built[0])
    assert len(set(keys.values())) == len(keys)
    assert {"tsk370", "pr105", "f65", "boto3"} <= set(keys)
