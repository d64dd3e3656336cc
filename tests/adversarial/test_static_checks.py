"""Verdicts that cannot be fooled: routes, validation steps and deploy scripts shaped to look compliant.

Every lying input here passed the substring/regex checks these kinds used to make; each must now fail
with a message that says why (and where), while the honest controls keep passing. One real git
repository holds every workflow and script, each judged by its own path.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.gitrepo import GitRepo
from tests.scenario import ARN, DEPLOY_SH, GOOD_WORKFLOW, TARGET, judge, lambda_data, snapshot, verdicts

SCRIPT = "backend/lambda/coordination_api/deploy.sh"
READ = ("S=$(aws lambda get-function-configuration --function-name devops-coordination-api "
        "--query State --output text)\n"
        "U=$(aws lambda get-function-configuration --function-name devops-coordination-api "
        "--query LastUpdateStatus --output text)\n")


def workflow(run: str, *, step_extra: str = "", job_extra: str = "", before: str = "", after_deploy: str = "",
             other_job: str = "") -> str:
    """The canonical workflow with a validation step running ``run`` (indented for a literal block)."""
    body = textwrap.indent(run, " " * 10)
    return (f"on:\n  push: {{branches: [main]}}\n  workflow_dispatch: {{}}\njobs:\n  deploy:\n"
            f"    runs-on: ubuntu-latest\n{job_extra}    steps:\n{before}"
            f"      - name: Deploy coordination API\n        run: {SCRIPT}\n{after_deploy}"
            f"      - name: Validate deployed Lambda state\n{step_extra}        run: |\n{body}{other_job}")


ASSERTING = READ + 'test "$S" = Active || exit 1\ntest "$U" = Successful || exit 1\n'

LYING = {
    "comment-only": READ + 'echo "$S $U"\n# test "$S" = Active || exit 1\n# test "$U" = Successful || exit 1\n',
    "echo-only": READ + 'echo "State=Active LastUpdateStatus=Successful || exit 1"\n',
    "or-true": READ + 'test "$S" = Active || true\ntest "$U" = Successful || true\n',
    "or-echo": READ + '[ "$S" = Active ] || echo "not active"\n[ "$U" = Successful ] || echo "not updated"\n',
    "set-plus-e": "set +e\n" + READ + '[ "$S" = Active ]\n[ "$U" = Successful ]\necho "checked"\n',
    "function-never-called": "check() {\n" + textwrap.indent(ASSERTING, "  ") + "}\necho skipped\n",
    "eval": READ + 'eval "test \\"$S\\" = Active || exit 1"\n',
    "heredoc-text": "cat <<'EOF'\n" + ASSERTING + "EOF\n",
    "compares-constants": READ + '[ Active = Active ] || exit 1\n[ Successful = Successful ] || exit 1\n',
    "other-function": ASSERTING.replace("--function-name devops-coordination-api", "--function-name legacy-api"),
    "dead-branch": "if false; then\n" + textwrap.indent(ASSERTING, "  ") + "fi\n",
    "after-exit-0": "exit 0\n" + ASSERTING,
    "or-always-true": READ + '[ "$S" = Active -o 1 = 1 ] || exit 1\n[ "$U" = Successful ] || exit 1\n',
    "lost-in-pipeline": READ + 'test "$S" = Active | cat\ntest "$U" = Successful | cat\n',
    # "Active" is also TracingConfig.Mode: a substring match on the whole configuration proves nothing
    "grep-whole-config": "set -e\naws lambda get-function-configuration --function-name devops-coordination-api "
                         "| grep -q Active\naws lambda wait function-updated-v2 --function-name devops-coordination-api\n",
    "glob-whole-config": 'C="$(aws lambda get-function-configuration --function-name devops-coordination-api '
                         '--output text)"\n[[ $C == *Active* ]] || exit 1\n'
                         "aws lambda wait function-updated-v2 --function-name devops-coordination-api\n",
    "grep-ignore-case": "set -e\naws lambda get-function-configuration --function-name devops-coordination-api "
                        "--query State --output text | grep -qi active\n"
                        "aws lambda wait function-updated-v2 --function-name devops-coordination-api\n",
    "read-before-deploy": READ + f"{SCRIPT}\n" + 'test "$S" = Active || exit 1\ntest "$U" = Successful || exit 1\n',
}


def _files() -> dict[str, str]:
    files = {"README.md": "x\n", SCRIPT: DEPLOY_SH}
    wf = ".github/workflows/{}.yml".format
    for name, run in LYING.items():
        files[wf(name)] = workflow(run)
    files[wf("continue-on-error")] = workflow(ASSERTING, step_extra="        continue-on-error: true\n")
    files[wf("continue-on-error-expr")] = workflow(ASSERTING,
                                                   step_extra="        continue-on-error: ${{ true }}\n")
    files[wf("continue-on-error-unknown")] = workflow(
        ASSERTING, step_extra="        continue-on-error: ${{ github.event_name == 'push' }}\n")
    files[wf("if-expr-false")] = workflow(ASSERTING, step_extra="        if: ${{ false }}\n")
    files[wf("if-false")] = workflow(ASSERTING, step_extra="        if: false\n")
    files[wf("if-zero")] = workflow(ASSERTING, step_extra="        if: 0\n")
    files[wf("if-failure")] = workflow(ASSERTING, step_extra="        if: failure()\n")
    files[wf("job-continue-on-error")] = workflow(ASSERTING, job_extra="    continue-on-error: true\n")
    files[wf("shell-without-e")] = workflow(READ + '[ "$S" = Active ]\n[ "$U" = Successful ]\necho done\n',
                                            step_extra="        shell: bash {0}\n")
    files[wf("shell-python")] = workflow(ASSERTING, step_extra="        shell: python {0}\n")
    files[wf("before-deploy")] = (
        "on: {push: {branches: [main]}, workflow_dispatch: {}}\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - name: Validate first\n        run: |\n" + textwrap.indent(ASSERTING, " " * 10)
        + f"      - name: Deploy coordination API\n        run: {SCRIPT}\n")
    files[wf("other-job")] = (
        "on: {push: {branches: [main]}, workflow_dispatch: {}}\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n"
        f"    steps:\n      - name: Deploy coordination API\n        run: {SCRIPT}\n  check:\n"
        "    runs-on: ubuntu-latest\n    steps:\n      - name: Validate elsewhere\n        run: |\n"
        + textwrap.indent(ASSERTING, " " * 10))
    files[wf("no-deploy-step")] = (
        "on: {push: {branches: [main]}, workflow_dispatch: {}}\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - name: Validate\n        run: |\n" + textwrap.indent(ASSERTING, " " * 10))
    # controls: honest validation that must keep passing
    files[wf("good-waits")] = GOOD_WORKFLOW
    files[wf("test-or-exit")] = workflow(ASSERTING)
    files[wf("brace-group")] = workflow(
        READ + '[ "$S" = Active ] || { echo "State=$S"; exit 1; }\n'
        '[ "$U" = Successful ] || { echo "LastUpdateStatus=$U"; exit 1; }\n')
    files[wf("if-then-exit")] = workflow(
        READ + 'if [ "$S" != "Active" ] || [ "$U" != "Successful" ]; then\n  echo "::error::bad $S $U"\n'
        "  exit 1\nfi\n")
    files[wf("wait-then-assert")] = workflow(
        "aws lambda wait function-updated --function-name devops-coordination-api\n" + READ
        + 'test "$S" = Active || exit 1\n')
    files[wf("jq-e")] = workflow(
        "aws lambda get-function-configuration --function-name devops-coordination-api \\\n"
        "  | jq -e '.State == \"Active\" and .LastUpdateStatus == \"Successful\"'\n")
    files[wf("grep-q-set-e")] = workflow(
        "set -euo pipefail\naws lambda get-function-configuration --function-name \"$FUNCTION_NAME\" \\\n"
        "  --query '[State,LastUpdateStatus]' --output text | grep -qx $'Active\\tSuccessful'\n",
        job_extra="    env:\n      FUNCTION_NAME: devops-coordination-api\n")
    files[wf("status-captured")] = workflow(
        "set +e\naws lambda wait function-active-v2 --function-name devops-coordination-api\nrc=$?\n"
        "aws lambda wait function-updated-v2 --function-name devops-coordination-api\nrc2=$?\nset -e\n"
        'if [ "$rc" -ne 0 ] || [ "$rc2" -ne 0 ]; then exit 1; fi\n')
    files[wf("poll-loop")] = workflow(
        "for i in $(seq 1 30); do\n" + textwrap.indent(READ, "  ")
        + '  [ "$S" = Active ] && [ "$U" = Successful ] && break\n  sleep 10\ndone\n'
        'test "$S" = Active || exit 1\ntest "$U" = Successful || exit 1\n')
    files[wf("if-always")] = workflow(ASSERTING, step_extra="        if: ${{ always() }}\n"
                                      "        continue-on-error: false\n")
    files[wf("alias-arn")] = workflow(ASSERTING.replace(
        "--function-name devops-coordination-api",
        "--function-name arn:aws:lambda:us-west-2:123456789012:function:devops-coordination-api:live"))
    return files


TOMBSTONES = {
    "echo-retired": "#!/usr/bin/env bash\necho retired\necho 'deploys through the platform pipeline now'\n"
                    "echo 'see ENC-TSK-900'\n",
    "true": "#!/usr/bin/env bash\n# retired\ntrue\ntrue\ntrue\n",
    "exit-0": "#!/usr/bin/env bash\nset -e\nREASON=retired\nexit 0\n",
    "only-inert": "#!/usr/bin/env bash\nset -euo pipefail\n: moved to the platform pipeline\nprintf 'retired\\n'\n"
                  "echo 'see ENC-TSK-900'\nexit 0\n",
    "code-after-exit": "#!/usr/bin/env bash\necho retired\nexit 0\n" + DEPLOY_SH.split("\n", 1)[1],
    "code-in-heredoc": "#!/usr/bin/env bash\n: <<'RETIRED'\n" + DEPLOY_SH.split("\n", 1)[1] + "RETIRED\necho retired\n",
    "code-in-dead-function": "#!/usr/bin/env bash\nold_deploy() {\n  aws lambda update-function-code "
                             "--function-name devops-coordination-api --zip-file fileb://f.zip\n}\necho retired\n"
                             "exit 0\n",
    "code-in-dead-branch": "#!/usr/bin/env bash\nif false; then\n  aws lambda update-function-code "
                           "--function-name devops-coordination-api --zip-file fileb://f.zip\nfi\necho retired\n",
    "only-reads": "#!/usr/bin/env bash\nset -e\naws --version\naws lambda get-function-configuration "
                  "--function-name devops-coordination-api\necho done\n",
    "plans-only": "#!/usr/bin/env bash\nset -e\nterraform init\nterraform plan\nnpx cdk synth\n"
                  "aws cloudformation validate-template --template-body file://t.yaml\n",
    "absolute-inert": "#!/usr/bin/env bash\n/bin/true\n/bin/echo retired\n/usr/bin/env true\n",
    "exits-on-set-e-first": "#!/usr/bin/env bash\nset -e\nfalse\naws lambda update-function-code "
                               "--function-name devops-coordination-api --zip-file fileb://f.zip\n",
    "inline-python": "#!/usr/bin/env bash\nset -e\npython3 -c \"print('retired')\"\necho done\n",
}
REAL_SCRIPTS = {
    "real": DEPLOY_SH,
    "sam": "#!/usr/bin/env bash\nset -euo pipefail\ncd \"$(dirname \"$0\")\"\nsam build\nsam deploy --no-confirm-changeset\n",
    "another-script": "#!/usr/bin/env bash\nset -euo pipefail\nHERE=\"$(dirname \"$0\")\"\n"
                      "\"$HERE/../../../scripts/deploy-lambda.sh\" devops-coordination-api\n",
    "dry-run-first": "#!/usr/bin/env bash\nset -euo pipefail\nif [ \"${DRY_RUN:-}\" = 1 ]; then echo plan; exit 0; fi\n"
                     "terraform -chdir=infra apply -auto-approve\n",
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    r = GitRepo(tmp_path_factory.mktemp("static") / "r").init()
    files = _files()
    for name, text in {**TOMBSTONES, **REAL_SCRIPTS}.items():
        files[f"scripts/{name}.sh"] = text
    r.commit("everything ENC-TSK-1", files, author_date="2026-02-22T00:00:00Z")
    return r, sorted(files)


def _judge_workflow(repo, name):
    r, files = repo
    found = judge(snapshot(r.path, files=files), "workflow_validation_asserts",
                  {"workflow": f".github/workflows/{name}.yml"})
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("name,why", [
    ("comment-only", "only in a comment"),
    ("echo-only", "only in echo text"),
    ("or-true", "`|| true`"),
    ("or-echo", '`|| echo "not active"`'),
    ("set-plus-e", "errexit is off (`set +e` at line"),
    ("function-never-called", "inside function check, which is never called"),
    ("eval", "cannot see (eval)"),
    ("heredoc-text", "only in heredoc text"),
    ("compares-constants", "does not come from the function"),
    ("other-function", "does not come from the function"),
    ("dead-branch", "on no path the step takes"),
    ("after-exit-0", "on no path the step takes"),
    ("or-always-true", "succeeds when the value is wrong"),
    ("lost-in-pipeline", "pipefail is off"),
    ("grep-whole-config", "TracingConfig.Mode"),
    ("glob-whole-config", "TracingConfig.Mode"),
    ("grep-ignore-case", "so it matches Inactive too"),
    ("read-before-deploy", "does not come from the function"),
])
def test_lying_validation_scripts_fail_with_the_reason_and_line(repo, name, why):
    f = _judge_workflow(repo, name)
    assert f.status == "fail", f.message
    assert why in f.message, f.message
    assert f.location and f.location["line"] > 1


@pytest.mark.parametrize("name,why", [
    ("continue-on-error", "continue-on-error: true"),
    ("continue-on-error-expr", "continue-on-error: true"),
    ("continue-on-error-unknown", "which may be true"),
    ("if-expr-false", "never runs after a successful deploy (if: ${{ false }})"),
    ("if-false", "never runs after a successful deploy (if: False)"),
    ("if-zero", "never runs after a successful deploy (if: 0)"),
    ("if-failure", "never runs after a successful deploy (if: failure())"),
    ("job-continue-on-error", "so a failed validation does not fail the run"),
    ("shell-without-e", "the step's shell runs without -e"),
    ("shell-python", "not a POSIX shell"),
    ("before-deploy", "runs before the deploy"),
    ("other-job", "not in the deploy job 'deploy'"),
    ("no-deploy-step", f"no step runs {SCRIPT}"),
])
def test_steps_that_cannot_fail_the_job_after_the_deploy_assert_nothing(repo, name, why):
    f = _judge_workflow(repo, name)
    assert f.status == "fail", f.message
    assert why in f.message, f.message


@pytest.mark.parametrize("name", ["good-waits", "test-or-exit", "brace-group", "if-then-exit", "wait-then-assert",
                                  "jq-e", "grep-q-set-e", "status-captured", "poll-loop", "if-always", "alias-arn"])
def test_honest_validation_steps_still_pass(repo, name):
    f = _judge_workflow(repo, name)
    assert f.status == "pass", f.message
    assert "Validate deployed Lambda state" in f.message


def test_the_demo_workflow_fails_because_it_only_prints(tmp_path):
    from compliance import demo

    r = GitRepo(tmp_path / "d").init()
    files = {demo.WORKFLOW: demo.file_text("api-mcp-backend-deploy.yml"), SCRIPT: demo.file_text("deploy.sh")}
    r.commit("demo workflow", files, author_date="2026-02-22T00:00:00Z")
    found = judge(snapshot(r.path, files=[demo.WORKFLOW, SCRIPT]), "workflow_validation_asserts")
    assert [f.status for f in found] == ["fail"]
    assert "it only prints" in found[0].message
    assert judge(snapshot(r.path, files=[demo.WORKFLOW, SCRIPT]), "deploy_script_present")[0].status == "pass"


def _judge_script(repo, name):
    r, files = repo
    found = judge(snapshot(r.path, files=files), "deploy_script_present", {"path": f"scripts/{name}.sh"})
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("name,why", [
    ("echo-retired", "only echo"),
    ("true", "only true"),
    ("exit-0", "only set, exit"),
    ("only-inert", "only set, :, printf, echo, exit"),
    ("code-after-exit", "is never reached"),
    ("code-in-heredoc", "only :, echo"),
    ("code-in-dead-function", "in function old_deploy, which is never called"),
    ("code-in-dead-branch", "is never reached"),
    ("only-reads", "invokes nothing that deploys"),
    ("plans-only", "it runs only terraform, npx, aws (reads, help, an emulator's endpoint or another function)"),
    ("absolute-inert", "only /bin/true, /bin/echo, true"),
    ("exits-on-set-e-first", "is never reached"),
    ("inline-python", "cannot judge the script: line 3: `python3` runs code this check cannot see"),
])
def test_tombstones_fail_and_say_what_they_run(repo, name, why):
    f = _judge_script(repo, name)
    assert f.status == "fail", f.message
    assert why in f.message, f.message


@pytest.mark.parametrize("name,what", [
    ("real", "aws lambda update-function-code (line 6)"),
    ("sam", "sam deploy"),
    ("another-script", "deploy-lambda.sh"),
    ("dry-run-first", "terraform"),
])
def test_real_deploy_scripts_pass_and_say_what_they_invoke(repo, name, what):
    f = _judge_script(repo, name)
    assert f.status == "pass", f.message
    assert what in f.message, f.message


# --------------------------------------------------------------------------- routes

ROUTES = ["GET /api/v1/coordination/capabilities", "POST /api/v1/coordination/mcp"]


def _api(uri: str, kind: str = "AWS_PROXY") -> dict:
    return {"api": {"ApiId": "a1", "Name": "devops-tracker-api"},
            "routes": [{"RouteId": f"r{i}", "RouteKey": k, "Target": "integrations/i1"} for i, k in enumerate(ROUTES)],
            "integrations": [{"IntegrationId": "i1", "IntegrationType": kind, "IntegrationUri": uri}]}


def _invoke(arn: str, region: str = "us-west-2") -> str:
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"


def _routes(repo, uri, kind="AWS_PROXY", target=None, **sources):
    r, files = repo
    snap = snapshot(r.path, files=files, apigateway=_api(uri, kind), target=target or TARGET, **sources)
    return judge(snap, "api_routes", {"routes": ROUTES})


@pytest.mark.parametrize("uri,why", [
    (ARN + "-shadow", "function devops-coordination-api-shadow (expected devops-coordination-api)"),
    (ARN.replace("us-west-2", "eu-west-1"), "region eu-west-1 (expected us-west-2)"),
    (_invoke(ARN + "-shadow"), "function devops-coordination-api-shadow"),
    (_invoke(ARN.replace("us-west-2", "eu-west-1"), "eu-west-1"), "region eu-west-1"),
    (_invoke(ARN, "eu-west-1"), "through API Gateway in eu-west-1"),
    ("arn:aws:lambda:us-west-2:123456789012:function:shadow-devops-coordination-api", "function shadow-"),
    ("https://example.com/arn:aws:lambda:us-west-2:123456789012:function:devops-coordination-api",
     "is not a Lambda function ARN"),
    ("arn:aws:lambda:us-west-2:123456789012:function:${stageVariables.fn}", "stage variable"),
])
def test_routes_to_a_lookalike_function_fail(repo, uri, why):
    found = _routes(repo, uri)
    assert {f.status for f in found} == {"fail"}, [f.message for f in found]
    assert all(why in f.message for f in found), found[0].message


def test_a_non_lambda_integration_fails_even_with_the_arn_in_its_uri(repo):
    found = _routes(repo, ARN, kind="HTTP_PROXY")
    assert {f.status for f in found} == {"fail"} and "HTTP_PROXY" in found[0].message


@pytest.mark.parametrize("uri", [ARN, ARN + ":live", ARN + ":7", ARN + ":$LATEST", _invoke(ARN), _invoke(ARN + ":live")])
def test_routes_to_the_function_alias_or_version_pass(repo, uri):
    found = _routes(repo, uri)
    assert verdicts(found) == {k: "pass" for k in ROUTES}, [f.message for f in found]


def test_the_account_must_match_when_the_target_knows_it(repo):
    other = ARN.replace("123456789012", "999999999999")
    assert {f.status for f in _routes(repo, other)} == {"pass"}  # account unknown: name and region decide
    by_arn = {**TARGET, "function": ARN}
    found = _routes(repo, other, target=by_arn)
    assert {f.status for f in found} == {"fail"} and "account 999999999999 (expected 123456789012)" in found[0].message
    # the collected function's own ARN tells the account too
    found = _routes(repo, other, **{"lambda": lambda_data()})
    assert {f.status for f in found} == {"fail"}
    assert {f.status for f in _routes(repo, ARN, **{"lambda": lambda_data()})} == {"pass"}


def test_routes_without_a_known_region_cannot_be_judged(repo):
    target = {k: v for k, v in TARGET.items() if k != "region"}
    found = _routes(repo, ARN, target=target)
    assert [f.status for f in found] == ["error"] and "region" in found[0].message
