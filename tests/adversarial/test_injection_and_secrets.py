"""Hostile values against the remediation commands people copy, and secrets shaped to slip past masking.

The commands are judged the way a shell reads them: ``shlex.split`` for the argv, and a real
``sh -c`` run in a temporary folder, which must print the hostile value back and run nothing.
"""

from __future__ import annotations

import io
import json
import shlex
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
import responses

from compliance.app.deploy import Output, Plan, run_script
from compliance.base.redact import LineRedactor, clip, redact
from compliance.base.redact_doc import redact_data
from compliance.cli import main
from compliance.inputs.rules import load_rules
from compliance.judge.engine import fill, shell_word
from tests.github_payloads import FakeGitHub
from tests.live_system import POLICIES, audit_args
from tests.reportfile import read_report

HOSTILE = [
    'REQ-x$(id>pwned)"; echo "',
    "`id>pwned`",
    "it's \"both\" quotes",
    "a; id>pwned",
    "a && id>pwned",
    "line one\nid>pwned",
    "back\\slash\\",
    "--output=pwned",
    "-rf",
    "ünïcødé ☃ 🚀",
    "$HOME ${PATH} $((1+1))",
    "",
    "'",
    "a|id>pwned",
    "> pwned",
    "*",
    "$(id>pwned) #",
]
DM_COMMAND = "gh workflow run deploy.yml --repo o/r --ref main -f reason='replace deploy-manager request '{subject}"


@pytest.mark.parametrize("value", HOSTILE)
def test_a_filled_value_is_one_argument_and_prose_keeps_it_readable(value):
    filled = fill({"text": "Withdraw the request ({subject}).", "command": DM_COMMAND}, {"subject": value})
    argv = shlex.split(filled["command"])
    assert argv == ["gh", "workflow", "run", "deploy.yml", "--repo", "o/r", "--ref", "main", "-f",
                    f"reason=replace deploy-manager request {value}"]
    assert filled["text"] == f"Withdraw the request ({value})."


@pytest.mark.parametrize("value", HOSTILE)
def test_a_real_shell_prints_the_value_and_runs_nothing(tmp_path, value):
    """Also the value that ran code when a template put a backslash before its placeholder (now refused)."""
    command = fill({"command": "printf '[%s]' {subject} {sha}"}, {"subject": value, "sha": value})["command"]
    proc = subprocess.run(["sh", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"[{value}][{value}]"
    assert list(tmp_path.iterdir()) == []  # no "pwned" file: nothing the value held was executed


def test_shell_word_is_the_one_quoting_and_leaves_plain_words_alone():
    assert shell_word("devops-coordination-api") == "devops-coordination-api"
    assert shell_word("us-west-2") == "us-west-2"
    assert shell_word("0123456789abcdef0123456789abcdef01234567") == "0123456789abcdef0123456789abcdef01234567"
    assert shlex.split(shell_word("a b")) == ["a b"]
    assert shell_word("") == "''"  # an empty value is an explicit empty argument, not a missing one


def test_unknown_placeholders_and_json_braces_stay_as_written():
    out = fill({"command": "aws x --query '{State:State}' {other} {function}"}, {"function": "f n"})
    assert out["command"] == "aws x --query '{State:State}' {other} 'f n'"


def _shipped_commands() -> list[tuple[str, str]]:
    rules = load_rules([str(POLICIES)]).rules
    return [(r.id, r.remediation.command) for r in rules if "{" in r.remediation.command]


@pytest.mark.parametrize("value", HOSTILE)
def test_every_shipped_command_keeps_a_hostile_value_one_argument(value):
    names = ["sha", "subject", "function", "region", "branch", "workflow", "workflow_file", "repo"]
    plain = {n: f"PLAIN{n.upper()}" for n in names}
    for rule_id, template in _shipped_commands():
        for name in names:
            if "{" + name + "}" not in template:
                continue
            reference = shlex.split(fill({"command": template}, plain)["command"])
            argv = shlex.split(fill({"command": template}, {**plain, name: value})["command"])
            marker = plain[name]
            assert len(argv) == len(reference), (rule_id, name, argv)
            for got, want in zip(argv, reference, strict=True):
                assert got == want.replace(marker, value), (rule_id, name, argv)


def test_shipped_commands_put_data_values_after_an_end_of_options_marker():
    """``{sha}`` and ``{subject}`` come from collected data: as a positional argument they must follow ``--``
    or ``--end-of-options`` (``git show --output=FILE`` writes a file)."""
    for rule_id, template in _shipped_commands():
        argv = shlex.split(fill({"command": template}, {"sha": "--output=pwned", "subject": "--output=pwned"})
                           ["command"])
        for i, arg in enumerate(argv):
            if arg == "--output=pwned":
                before = argv[:i]
                assert "--" in before or "--end-of-options" in before, (rule_id, argv)


BAD_RULE = """\
version: 1
rules:
  - id: T-001
    title: t
    severity: low
    rationale: r
    runbook_section: s
    checks:
      - kind: no_ui_deploy_request
    remediation:
      text: t
      command: {command}
"""


@pytest.mark.parametrize("command, col, why", [
    # the value starts in column 16; the column is the placeholder's (the quote's when it is left open)
    ('gh x -f reason="replace {subject}"', 16 + 24, "inside double quotes"),
    ("gh x -f reason='replace {subject}'", 16 + 24, "inside single quotes"),
    ('''"echo \\"$(git show {sha})\\""''', 16, "inside double quotes"),  # escapes: the value's column
    ("echo 'open {sha}", 16 + 5, "unterminated single quote"),
    # found by trying to fool the fix: \'value' escapes the opening quote, $'value' decodes escapes
    ("echo \\{sha}", 16 + 5, "'\\' right before placeholder {sha}"),
    ("echo ${sha}", 16 + 5, "'$' right before placeholder {sha}"),
    # and inside backticks the shell re-reads the text, so a ` in the value ends the substitution
    ("echo `git show {sha}`", 16 + 15, "inside `...`"),
    ("echo `date", 16 + 5, "unterminated `"),
])
def test_the_loader_refuses_a_placeholder_inside_quotes_with_its_column(tmp_path, capsys, command, col, why):
    f = tmp_path / "r.yaml"
    f.write_text(BAD_RULE.format(command=command), "utf-8")
    code = main(["rules", "validate", str(f)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{f}:12:{col}:" in err and why in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", [
    "gh x -f reason='replace '{subject}",
    "aws lambda get-function-configuration --function-name {function} --query '{State:State}'",
    "echo \\'{sha}",
    "\"$EDITOR {workflow}\"",  # YAML quotes, not shell quotes
    "echo $(git show --stat --end-of-options {sha})",  # $(...) parses its text afresh: quoting holds
])
def test_the_loader_accepts_placeholders_outside_quotes(tmp_path, capsys, command):
    f = tmp_path / "r.yaml"
    f.write_text(BAD_RULE.format(command=command), "utf-8")
    assert main(["rules", "validate", str(f)]) == 0, capsys.readouterr().err


def test_a_hostile_request_id_in_a_snapshot_reaches_every_report_as_one_argument(request, capsys):
    """The issue's exploit, end to end: a request id that closes the quote of the old template."""
    system = request.getfixturevalue("make_system")()
    out = system.root / "out"
    with responses.RequestsMock() as rsps:
        FakeGitHub(rsps, system.runs())
        main(audit_args(system.config, out))
    capsys.readouterr()
    doc = json.loads((out / "snapshot.json").read_text("utf-8"))
    hostile = HOSTILE[0]
    [req] = doc["sources"]["deploy_manager"]["data"]["requests"]
    req["request_id"] = hostile
    held = system.root / "held.json"
    held.write_text(json.dumps(doc), "utf-8")
    again = system.root / "again"
    main(["evaluate", "--snapshot", str(held), "--policies", str(POLICIES), "--out", str(again),
          "--format", "md,html,json"])
    capsys.readouterr()
    report = read_report(again / "report.json")
    [finding] = [f for f in report["findings"] if f["rule_id"] == "APIMCP-002" and f["subject"] == hostile]
    argv = shlex.split(finding["remediation"]["command"])
    assert argv[-2:] == ["-f", f"reason=replace deploy-manager request {hostile}"]
    assert hostile in finding["remediation"]["text"]
    raw = "reason=\"replace deploy-manager request " + hostile  # the exploitable fill of the old template
    for name in ("report.md", "report.html", "report.json"):
        assert raw not in (again / name).read_text("utf-8"), name


# ----------------------------------------------------------------------------- secrets

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Xk2Lw9P"
SESSION = "FwoGZXIvYXdzEBYaDHq1Zq7Zq7Zq7Zq7Zq7Zq7Zq7Zq7Zq7/Zq7+Zq7Zq7=="
SHA = "0123456789abcdef0123456789abcdef01234567"
CODE_SHA = "q5nDnTcjGyYEtuvaNPWn6ex2rBsMiz9kpGMGdVrZ5Es="
PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
       "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----")


@pytest.mark.parametrize("text, secret", [
    (f"aws_secret_access_key={AWS_SECRET}", AWS_SECRET),
    (f"export AWS_SECRET_ACCESS_KEY='{AWS_SECRET}'", AWS_SECRET),
    (f'{{"Credentials": {{"SecretAccessKey": "{AWS_SECRET}", "SessionToken": "{SESSION}"}}}}', AWS_SECRET),
    (f'{{"SessionToken": "{SESSION}"}}', SESSION),
    (f"token {SESSION} pasted bare", SESSION),
    (f"aws_session_token = {SESSION}", SESSION),
    (f"AKIAQX7VJ2M4T6B8N3LR,{AWS_SECRET}", AWS_SECRET),
    (f"key:\n{PEM}\nafter", "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "eyJhbGciOiJIUzI1NiJ9"),
    ("authorization=Basic dXNlcjpTM2NyZXQ=", "dXNlcjpTM2NyZXQ="),
    ("x-internal-key: cik-7f3a9b1c5d2e4f60a8b7c6d5e4f3a2b1", "cik-7f3a9b1c5d2e4f60a8b7c6d5e4f3a2b1"),
    ("clone https://deploy:S3cretPassw0rd@git.example.com/r.git", "S3cretPassw0rd"),
    ("db password: hunter2hunter2", "hunter2hunter2"),
    # found by trying to fool the shapes: a PGP key block, an encoder that escapes '/' (PHP, some loggers)
    ("-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBGXz0Q4BCAC7pgp\n-----END PGP PRIVATE KEY BLOCK-----", "lQOYBGXz0Q4"),
    ('{"SecretAccessKey":"wJa\\/lrXUtnFEMI\\/K7MDENG\\/bPxRfiCYzq8Xk2Lw9P"}', "K7MDENG"),
])
def test_secret_shapes_are_masked_and_their_names_kept(text, secret):
    out = redact(text, ())
    assert secret not in out and "***" in out
    for name in ("aws_secret_access_key", "SecretAccessKey", "Authorization", "x-internal-key"):
        if name in text:
            assert name in out  # the reader still sees what was there


@pytest.mark.parametrize("text", [
    f"Deployed commit {SHA} CodeSha256={CODE_SHA} State=Active",
    f'{{"CodeSha256": "{CODE_SHA}", "RevisionId": "8f1a2b3c-0d4e-4f5a-9b6c-7d8e9f0a1b2c", "head_sha": "{SHA}"}}',
    "env:\n  AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n  GITHUB_TOKEN: $GITHUB_TOKEN",
    "permissions:\n  id-token: write\n  contents: read",
    "ssh://git@github.com/NX-2021-L/enceladus.git and git@github.com:o/r.git",
    "the Authorization header was missing; token budget exhausted",
])
def test_shas_references_and_prose_are_not_masked(text):
    assert redact(text, ()) == text
    assert redact_data({"x": [text]}) == {"x": [text]}


@pytest.mark.parametrize("token", ["ghp_" + "Zq7" * 12, "AKIA" + "QX7VJ2M4T6B8N3LR",
                                   f"aws_secret_access_key={AWS_SECRET}", "cik-7f3a9b1c5d2e4f60a8b7c6d5e4f3a2b1"])
@pytest.mark.parametrize("cut", [1, 5, 12, 19, 23])
def test_a_token_straddling_the_cut_leaves_no_head(token, cut):
    env_secret = "cik-7f3a9b1c5d2e4f60a8b7c6d5e4f3a2b1"
    text = "x" * (300 - cut) + token + " tail"
    out = clip(text, 300, (env_secret,))
    assert len(out) <= 300
    secret = token.split("=", 1)[-1]
    assert not any(secret[:n] in out for n in range(6, len(secret) + 1)), out[-40:]


def test_a_pem_key_in_a_stream_is_masked_line_by_line():
    lines = ["before", *PEM.splitlines(), "after"]
    mask = LineRedactor()
    out = [mask(line, ()) for line in lines]
    assert out[0] == "before" and out[-1] == "after"
    assert all(line == "***" for line in out[1:-1])


def test_the_deploy_log_and_terminal_hold_no_secret_the_script_printed(tmp_path):
    """The deploy script's own output (``aws sts assume-role`` JSON, a key it cat'ed) through ``run_script``."""
    script = tmp_path / "deploy.sh"
    script.write_text(
        "#!/usr/bin/env bash\n"
        f"cat <<'EOF'\n{{\n  \"Credentials\": {{\n    \"AccessKeyId\": \"ASIAQX7VJ2M4T6B8N3LR\",\n"
        f"    \"SecretAccessKey\": \"{AWS_SECRET}\",\n    \"SessionToken\": \"{SESSION}\"\n  }}\n}}\n"
        f"aws_secret_access_key = {AWS_SECRET}\n{PEM}\ncommit {SHA} CodeSha256 {CODE_SHA}\nEOF\n", "utf-8")
    plan = Plan(repo_root=tmp_path, script=str(script), function="f", region="us-west-2", commit=SHA,
                subject="s", branch="main", behind=0, since=datetime(2026, 1, 1, tzinfo=timezone.utc),
                last_evidenced=None, changes=[], tasks=[], missing_tasks=[], lambda_before={})
    stream = io.StringIO()
    (tmp_path / "out").mkdir(exist_ok=True)
    ran = run_script(plan, tmp_path / "out", {"PATH": "/usr/bin:/bin"}, False, Output(stream, {}))
    assert ran.code == 0 and ran.ended == "finished"
    for text in (stream.getvalue(), Path(ran.log_path).read_text("utf-8")):
        assert AWS_SECRET not in text and SESSION not in text and "MIIEowIBAAKCAQEA" not in text
        assert "ASIAQX7VJ2M4T6B8N3LR" not in text
        assert f"commit {SHA} CodeSha256 {CODE_SHA}" in text  # what the reader needs is still there
        assert '"SecretAccessKey": "***"' in text


def test_a_secret_held_by_its_key_in_parsed_json_is_masked():
    """A probe answer or an API error parsed into a mapping: the value has no shape, its key names it."""
    doc = {"capabilities": {"SecretAccessKey": AWS_SECRET, "debug_api_key": "k-0123456789",
                            "Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
                            "GITHUB_TOKEN": "${{ secrets.GITHUB_TOKEN }}", "CodeSha256": CODE_SHA, "head_sha": SHA}}
    out = redact_data(doc)
    assert out["capabilities"] == {"SecretAccessKey": "***", "debug_api_key": "***", "Authorization": "***",
                                   "GITHUB_TOKEN": "${{ secrets.GITHUB_TOKEN }}", "CodeSha256": CODE_SHA,
                                   "head_sha": SHA}


def test_a_secret_key_in_a_large_mapping_is_found_by_the_quick_check():
    """Large documents are checked in pieces; a piece must not lose the key that names its value."""
    big = {f"k{i}": "plain" for i in range(40)}
    big["SessionToken"] = SESSION[4:]  # no token shape left: only the key says what it is
    assert redact_data({"probe": big})["probe"]["SessionToken"] == "***"


def test_report_json_written_in_chunks_masks_a_secret_named_by_its_key(tmp_path):
    from compliance.report import write_masked

    doc = {"report_version": 1, "findings": [], "extra": {"SecretAccessKey": AWS_SECRET, "n": 1}}
    masked, written = write_masked(doc, tmp_path, ("json",))
    assert AWS_SECRET not in written["json"].read_text("utf-8")
    assert masked["extra"]["SecretAccessKey"] == "***"


@pytest.mark.parametrize("value", HOSTILE)
def test_inside_command_substitution_a_value_stays_one_word(tmp_path, value):
    """$(...) parses its text afresh, so a value in it stays one quoted word (why the loader accepts
    ``$(... {sha})`` unquoted; backticks are refused, as a ` in the value ends them)."""
    command = fill({"command": "printf '[%s]' \"$(printf '%s' {sha})\""}, {"sha": value})["command"]
    proc = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"[{value.rstrip(chr(10))}]"  # $(...) drops trailing newlines, as always
    assert list(tmp_path.iterdir()) == []
