"""The composite Action (action.yml): valid against GitHub's action schema as check-jsonschema vendors
it, and its scripts do what the inputs say. No runner is needed to run a composite action's shell
steps: each step's ``env:`` is filled in from the inputs (and earlier steps' outputs) the way the
runner would, and its script runs in bash with the runner's files (GITHUB_OUTPUT, the job summary).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from compliance.demo import DEMO_SINCE, DEMO_UNTIL
from tests.reportfile import read_report
from tests.workflow_files import vendored_validator

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
COMPLIANCE = Path(sys.executable).with_name("compliance")  # the checker the install step would have put there
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@pytest.fixture(scope="module")
def action() -> dict:
    return yaml.safe_load(ACTION.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator():
    return vendored_validator("github-actions")


def test_the_action_matches_the_github_action_schema(action, validator):
    errors = sorted(validator.iter_errors(action), key=lambda e: list(e.path))
    assert not errors, [f"{'/'.join(map(str, e.path))}: {e.message[:300]}" for e in errors]


def test_the_schema_catches_mistakes(action, validator):
    broken = json.loads(json.dumps(action))
    del broken["runs"]["steps"][0]["shell"]  # a composite run step must name its shell
    assert list(validator.iter_errors(broken))


def test_composite_with_the_documented_inputs_and_outputs(action):
    assert action["runs"]["using"] == "composite"  # the runner's checkout and git, no container
    assert {"mode", "config", "fail-on", "soft-fail", "formats", "sarif", "comment", "tracking-issue",
            "version"} <= set(action["inputs"])
    assert {"verdict", "exit-code", "report-dir", "sarif-path", "pass", "fail", "error", "waived", "pending",
            "not-applicable"} <= set(action["outputs"])
    for name, spec in action["inputs"].items():
        assert spec["description"] and isinstance(spec.get("default", ""), str), name


def test_inputs_reach_scripts_only_through_the_environment(action):
    """``${{ inputs.x }}`` pasted into a script is script injection; the environment is data."""
    for step in action["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]


def test_every_input_is_used_and_every_used_one_declared(action):
    text = ACTION.read_text(encoding="utf-8")
    used = set(re.findall(r"\binputs\.([A-Za-z0-9_-]+)", text))
    assert used == set(action["inputs"])


def test_reports_are_kept_before_the_verdict_gates(action):
    steps = action["runs"]["steps"]
    names = [s["name"] for s in steps]
    assert names[-1] == "Gate on the verdict"
    sarif = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert sarif["with"]["category"] == "${{ inputs.sarif-category }}"
    assert "inputs.sarif == 'true'" in sarif["if"] and "!cancelled()" in sarif["if"]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert "!cancelled()" in upload["if"] and upload["with"]["path"] == "${{ inputs.out }}"
    assert names.index("Upload SARIF to code scanning") < names.index("Gate on the verdict")
    assert names.index("Job summary") < names.index("Gate on the verdict")


# --------------------------------------------------------------------------- running the steps


def _fill(value: str, inputs: dict[str, str], outputs: dict[str, dict[str, str]]) -> str:
    def one(m: re.Match[str]) -> str:
        expr = m.group(1)
        if expr.startswith("inputs."):
            return inputs[expr[len("inputs."):]]
        if expr.startswith("steps."):
            step, _, name = expr[len("steps."):].partition(".outputs.")
            return outputs.get(step, {}).get(name, "")
        raise AssertionError(f"the test does not know how to fill {expr!r}")
    return EXPRESSION.sub(one, str(value))


def _step(action: dict, step_id: str) -> dict:
    return next(s for s in action["runs"]["steps"] if s.get("id") == step_id or s["name"] == step_id)


def _run_step(action: dict, step_id: str, tmp: Path, overrides: dict[str, str] | None = None,
              outputs: dict[str, dict[str, str]] | None = None) -> tuple[int, str, dict[str, str], str]:
    """(exit code, stdout+stderr, the step's outputs, the job summary) of one step run as the runner would."""
    inputs = {k: v.get("default", "") for k, v in action["inputs"].items()}
    inputs["token"] = ""
    inputs.update(overrides or {})
    outputs = {"install": {"bin": str(COMPLIANCE)}, **(outputs or {})}
    step = _step(action, step_id)
    files = {"GITHUB_OUTPUT": tmp / f"{step_id}.output", "GITHUB_STEP_SUMMARY": tmp / "summary.md"}
    for f in files.values():
        f.touch()
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp)), "RUNNER_TEMP": str(tmp),
           **{k: str(v) for k, v in files.items()},
           **{k: _fill(v, inputs, outputs) for k, v in step.get("env", {}).items()}}
    done = subprocess.run(["bash", "-c", step["run"]], cwd=tmp, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    written = dict(line.split("=", 1) for line in files["GITHUB_OUTPUT"].read_text("utf-8").splitlines() if line)
    return done.returncode, done.stdout + done.stderr, written, files["GITHUB_STEP_SUMMARY"].read_text("utf-8")


def test_the_defaults_pass_validation(action, tmp_path):
    code, out, _, _ = _run_step(action, "validate", tmp_path)
    assert code == 0, out


@pytest.mark.parametrize(("overrides", "says"), [
    ({"mode": "deploy"}, "mode must be pr or audit, got 'deploy'"),
    ({"soft-fail": "yes"}, "soft-fail must be true or false, got 'yes'"),
    ({"formats": "md,json,pdf", "sarif": "false"}, "formats: unknown format 'pdf'"),
    ({"formats": "md,sarif"}, "formats must include json"),
    ({"formats": "md,json"}, "sarif: true uploads report.sarif, so formats must include sarif"),
    ({"fail-on": "severe"}, "fail-on must be one of critical"),
    ({"publish": "comment"}, "publish must be check-run, status or none"),
    ({"pr": "12; rm -rf /"}, "pr must be a pull request number"),
    ({"version": "--index-url=https://evil.invalid"}, "version must be action, latest"),
    ({"tracking-issue": "true"}, "tracking-issue is for mode: audit (mode is pr)"),
    ({"mode": "audit", "comment": "true"}, "comment and pr are for mode: pr (mode is audit)"),
    ({"target": "../etc"}, "target '../etc' is not a target name"),
])
def test_validation_refuses_bad_inputs_with_a_message(action, tmp_path, overrides, says):
    code, out, _, _ = _run_step(action, "validate", tmp_path, overrides)
    assert code == 1
    assert f"::error title=deploy-compliance input::{says}" in out


@pytest.fixture(scope="module")
def demo_config(demo_run) -> Path:
    """The demo system the session's demo run built (read only here: the action writes its reports elsewhere)."""
    _, base = demo_run
    return base / "work" / "compliance.yaml"


def _audit(demo_config: Path) -> dict[str, str]:
    return {"mode": "audit", "config": str(demo_config), "since": DEMO_SINCE, "until": DEMO_UNTIL}


def test_an_audit_of_the_demo_gives_the_verdict_counts_and_files(action, tmp_path, demo_config):
    code, out, outputs, _ = _run_step(action, "run", tmp_path, _audit(demo_config))
    assert code == 0, out  # the run step never fails: the reports are kept first, the last step gates
    report = read_report(tmp_path / "reports" / "compliance" / "report.json")
    s = report["summary"]
    assert outputs["verdict"] == s["verdict"] == "error"  # the demo's capability endpoint is a closed port
    assert outputs["exit-code"] == "2"
    assert outputs["report-dir"] == "reports/compliance"
    assert outputs["sarif-path"] == "reports/compliance/report.sarif"
    assert (tmp_path / outputs["sarif-path"]).is_file()
    assert [outputs[k] for k in ("pass", "fail", "error", "waived", "pending", "not-applicable")] == \
        [str(s[k]) for k in ("pass", "fail", "error", "waived", "pending", "not_applicable")]
    assert int(outputs["fail"]) > 0 and int(outputs["pass"]) > 0

    code, out, _, summary = _run_step(action, "Job summary", tmp_path, _audit(demo_config), {"run": outputs})
    assert code == 0, out
    assert summary == (tmp_path / "reports" / "compliance" / "report.md").read_text("utf-8")
    code, out, _, _ = _run_step(action, "Gate on the verdict", tmp_path, _audit(demo_config), {"run": outputs})
    assert code == 2
    assert "::error title=deploy-compliance::verdict error (exit code 2)" in out


def test_soft_fail_passes_the_step_and_still_reports(action, tmp_path, demo_config):
    overrides = {**_audit(demo_config), "soft-fail": "true", "formats": "md,json", "sarif": "false"}
    code, out, outputs, _ = _run_step(action, "run", tmp_path, overrides)
    assert code == 0, out
    assert outputs["verdict"] == "error" and outputs["exit-code"] == "0"
    assert outputs["sarif-path"] == ""  # no sarif in formats: nothing to upload
    code, _, _, summary = _run_step(action, "Job summary", tmp_path, overrides, {"run": outputs})
    assert code == 0 and summary.startswith("## ")  # report.md: an audit writes no summary of its own
    code, _, _, _ = _run_step(action, "Gate on the verdict", tmp_path, overrides, {"run": outputs})
    assert code == 0


def test_without_markdown_the_summary_still_names_the_verdict(action, tmp_path, demo_config):
    overrides = {**_audit(demo_config), "formats": "json", "sarif": "false"}
    code, out, outputs, _ = _run_step(action, "run", tmp_path, overrides)
    assert code == 0 and outputs["verdict"] == "error", out
    code, _, _, summary = _run_step(action, "Job summary", tmp_path, overrides, {"run": outputs})
    assert code == 0 and summary == "deploy-compliance: verdict **error**; the reports are in reports/compliance.\n"


def test_invalid_input_gives_exit_2_and_no_counts(action, tmp_path):
    code, out, outputs, _ = _run_step(action, "run", tmp_path,
                                      {"mode": "audit", "config": str(tmp_path / "missing.yaml")})
    assert code == 0, out
    assert outputs["exit-code"] == "2"
    assert outputs["verdict"] == "" and outputs["fail"] == "" and outputs["pass"] == ""  # never "0 failures"
    code, _, _, summary = _run_step(action, "Job summary", tmp_path, {"mode": "audit"}, {"run": outputs})
    assert code == 0 and "wrote no report" in summary
