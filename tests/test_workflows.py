"""The workflows users copy: valid against the GitHub workflow schema that check-jsonschema ships,
and holding no more permission than each job uses."""

from __future__ import annotations

import pytest

from tests.workflow_files import WORKFLOWS, load, vendored_validator

FILES = sorted(p for p in WORKFLOWS.iterdir() if p.suffix in (".yml", ".yaml"))
# the shipped workflows run the checker's composite action (action.yml); users replace the placeholder
ACTION = "OWNER/deploy-compliance"
SHIPPED = ("compliance-pr.yml", "compliance-audit.yml", "compliance-matrix.yml")


@pytest.fixture(scope="module")
def validator():
    return vendored_validator("github-workflows")


def test_the_workflows_exist():
    names = {p.name for p in FILES}
    assert {"compliance-pr.yml", "compliance-audit.yml"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_workflow_matches_the_github_schema(path, validator):
    doc = load(path)
    assert "on" in doc and True not in doc
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{'/'.join(map(str, e.path))}: {e.message[:300]}" for e in errors]


def test_the_schema_catches_mistakes(validator):
    doc = load(WORKFLOWS / "compliance-pr.yml")
    doc["jobs"]["check"]["permissions"]["checks"] = "admin"
    assert list(validator.iter_errors(doc))


def _steps(job: dict, uses: str) -> list[dict]:
    return [s for s in job["steps"] if s.get("uses", "").split("@")[0] == uses]


def _run_text(job: dict) -> str:
    return "\n".join(s.get("run", "") for s in job["steps"])


# --------------------------------------------------------------------------- PR workflow


@pytest.fixture(scope="module")
def pr():
    return load(WORKFLOWS / "compliance-pr.yml")


def test_pr_triggers_and_grants_nothing_at_workflow_level(pr):
    assert set(pr["on"]) == {"pull_request"}
    assert pr["permissions"] == {}


def test_pr_check_job_least_privilege(pr):
    job = pr["jobs"]["check"]
    assert job["permissions"] == {"contents": "read", "checks": "write", "statuses": "write"}
    checkout = _steps(job, "actions/checkout")[0]
    assert checkout["with"]["fetch-depth"] == 0
    assert checkout["with"]["persist-credentials"] is False
    (step,) = _steps(job, ACTION)
    assert step["with"] == {
        "mode": "pr", "config": "compliance.yaml", "pr": "${{ github.event.pull_request.number }}",
        "publish": "check-run", "formats": "md,html,json,sarif,junit", "out": "reports",
        "sarif": "false",  # the sarif job uploads it: only that job holds security-events: write
        "artifact-name": "compliance-reports", "version": "${{ vars.COMPLIANCE_PIP_SPEC || 'action' }}"}


def test_pr_security_events_only_on_the_sarif_job(pr):
    for name, job in pr["jobs"].items():
        has = "security-events" in job.get("permissions", {})
        assert has == (name == "sarif"), name
    job = pr["jobs"]["sarif"]
    assert job["permissions"] == {"contents": "read", "security-events": "write", "actions": "read"}
    upload = _steps(job, "github/codeql-action/upload-sarif")[0]
    assert upload["with"]["sarif_file"] == "reports/report.sarif"
    assert _steps(job, "actions/download-artifact")[0]["with"]["name"] == "compliance-reports"
    assert "cancelled()" in job["if"]  # runs when findings failed the check job


def test_pr_comments_are_opt_in_and_only_they_get_pull_requests_write(pr):
    for name, job in pr["jobs"].items():
        has = "pull-requests" in job.get("permissions", {})
        assert has == (name == "comment"), name
    job = pr["jobs"]["comment"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "vars.COMPLIANCE_PR_COMMENT == 'true'" in job["if"]
    (step,) = _steps(job, ACTION)
    assert step["with"]["comment"] == "true" and step["with"]["publish"] == "none"
    assert step["with"]["soft-fail"] == "true" and step["with"]["artifact-name"] == ""  # the check job keeps them


def test_no_job_asks_for_more_than_the_allowed_set(pr):
    allowed = {
        "check": {"contents": "read", "checks": "write", "statuses": "write"},
        "sarif": {"contents": "read", "security-events": "write", "actions": "read"},
        "comment": {"contents": "read", "pull-requests": "write"},
    }
    assert set(pr["jobs"]) == set(allowed)
    for name, job in pr["jobs"].items():
        assert job["permissions"] == allowed[name]


# --------------------------------------------------------------------------- audit workflow


@pytest.fixture(scope="module")
def audit():
    return load(WORKFLOWS / "compliance-audit.yml")


def test_audit_triggers(audit):
    assert set(audit["on"]) == {"schedule", "workflow_dispatch"}
    assert audit["on"]["schedule"] == [{"cron": "0 6 * * *"}]
    assert set(audit["on"]["workflow_dispatch"]["inputs"]) == {"since", "until"}


def test_audit_permissions_are_exactly_these(audit):
    assert audit["permissions"] == {"contents": "read", "issues": "write", "id-token": "write"}
    for job in audit["jobs"].values():
        assert "permissions" not in job  # no job widens them


def test_audit_steps(audit):
    (job,) = audit["jobs"].values()
    assert _steps(job, "actions/checkout")[0]["with"]["fetch-depth"] == 0
    aws = _steps(job, "aws-actions/configure-aws-credentials")[0]
    assert aws["with"]["role-to-assume"] == "${{ vars.COMPLIANCE_AUDIT_ROLE_ARN }}"
    assert aws["with"]["aws-region"]
    (step,) = _steps(job, ACTION)
    assert step["with"]["mode"] == "audit" and step["with"]["config"] == "compliance.yaml"
    assert step["with"]["since"] == "${{ inputs.since }}" and step["with"]["until"] == "${{ inputs.until }}"
    assert step["with"]["tracking-issue"] == "true"
    assert step["with"]["out"] == "reports/audit" and step["with"]["formats"] == "md,html,json,sarif,junit"
    assert step["with"]["artifact-name"] and int(step["with"]["retention-days"]) >= 1
    # after the AWS role, so the action's run sees the credentials
    names = [s.get("uses", "").split("@")[0] for s in job["steps"]]
    assert names.index("aws-actions/configure-aws-credentials") < names.index(ACTION)


def test_shipped_workflows_run_the_action_and_ci_runs_it_on_the_demo():
    for name in SHIPPED:
        refs = {s["uses"] for job in load(WORKFLOWS / name)["jobs"].values() for s in job.get("steps", [])
                if s.get("uses", "").split("@")[0] == ACTION}
        assert refs == {f"{ACTION}@v1"}, name
    job = load(WORKFLOWS / "ci.yml")["jobs"]["action"]
    (step,) = _steps(job, "./")  # this checkout's action.yml
    assert step["uses"] == "./" and step["with"]["version"] == "action"
    assert step["with"]["config"] == "demo-system/compliance.yaml"
    assert "compliance demo --workdir demo-system" in _run_text(job)
    assert "steps.audit.outputs.verdict" in str(job["steps"][-1]["env"])


def test_dispatch_inputs_never_reach_a_script_unquoted(audit):
    """``${{ inputs.x }}`` inside ``run:`` is pasted into the shell script: script injection."""
    for path in FILES:
        for job in load(path)["jobs"].values():
            assert "${{ inputs." not in _run_text(job), path.name
            assert "${{ github.event.inputs." not in _run_text(job), path.name
