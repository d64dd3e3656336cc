"""Hostile-tester probes (issue 13 follow-up): inputs the first round of hardening did not consider."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import urllib.parse

import pytest

from compliance.base.errors import InputError
from compliance.base.redact import redact
from compliance.base.redact_doc import redact_data
from compliance.inputs.rules import command_quoting_problems, load_rules
from compliance.judge.engine import fill
from compliance.report import html as html_report
from compliance.report import junit as junit_report
from compliance.report import markdown_text as md
from compliance.report import sarif as sarif_report

# --- remediation commands: shell positions where one quoted word is still not data ------------

SHELL_HOLES = {
    # a newline in the value ends the comment, and its next line runs
    "comment": ("git revert --end-of-options {sha}  # {subject}", "x\ntouch {marker} #"),
    # an unquoted here-document expands $(...) whatever quotes the value carries
    "heredoc": ("cat <<EOF\n{subject}\nEOF", "$(touch {marker})"),
    # [[ -eq ]] and $(( )) evaluate a quoted word as arithmetic: a[$(cmd)] runs cmd
    "test-arith": ("[[ 1 -eq {subject} ]] && echo same", "a[$(touch {marker})]"),
    "arith": ("echo $(( {subject} + 1 ))", "a[$(touch {marker})]"),
    # a placeholder where a command name goes runs the value as a program, quoted or not
    "command-name": ("true && {subject}", "./mk"),
    "command-substitution": ("echo $({subject})", "./mk"),
    "sh-c": ("sh -c {subject}", "./mk"),
    "eval": ("eval {subject}", "./mk"),
}


@pytest.mark.parametrize("name", sorted(SHELL_HOLES))
def test_loader_refuses_placeholders_where_quoting_does_not_hold(name, tmp_path):
    template, value = SHELL_HOLES[name]
    marker = tmp_path / "pwned"
    filled = fill({"command": template}, {"subject": value.format(marker=marker), "sha": "abc"})["command"]
    script = tmp_path / "mk"  # a program the value names (a file the attacker committed, say)
    script.write_text(f"#!/bin/sh\ntouch {marker}\n")
    script.chmod(0o755)
    if shutil.which("bash"):  # the hole is real: the filled command runs the value
        subprocess.run(["bash", "-c", filled], capture_output=True, timeout=10, cwd=tmp_path)
        assert marker.exists(), f"{name}: expected the shell to run the value; the probe is stale"
    assert command_quoting_problems(template), f"{name}: loader accepts {template!r}"


def test_loader_refusal_names_file_line_and_column(tmp_path):
    rule = tmp_path / "r.yaml"
    rule.write_text(
        "version: 1\nrules:\n  - id: R-1\n    title: t\n    severity: low\n    rationale: r\n"
        "    runbook_section: s\n    checks:\n      - kind: tracker_ref\n"
        "    remediation:\n      text: fix\n      command: 'git revert {sha}  # {subject}'\n"
    )
    with pytest.raises(InputError) as info:
        load_rules([str(rule)])
    assert any("comment" in str(p) and ":12:" in str(p) for p in info.value.problems), info.value.problems


@pytest.mark.parametrize("command", [
    "git show --stat --end-of-options {sha}",
    "echo $# {sha}",
    "echo a#{sha}",
    "cat <<< {sha}",
    "curl -sS -i -- {subject}",
    "FOO={subject} env",
    "echo {sha} # a comment after the value",
    "gh workflow run {workflow_file} --ref {branch} -f reason='restore route '{subject}",
])
def test_loader_still_accepts_ordinary_commands(command):
    assert command_quoting_problems(command) == []


def test_shipped_policies_still_load():
    assert load_rules(["policies"]).rules


# --- secrets hidden from the shapes by an invisible character -------------------------------

TOKEN = "ghp_abcdefghijklmnopqrstuvwxyz0123"


@pytest.mark.parametrize("hide", ["\u200b", "\u200d", "\u2060", "\ufeff", "\x00", "\x1b", "\u202e", "\u00ad",
                                  "\U000e0041", "\x85"])
def test_token_split_by_an_invisible_character_is_not_rejoined_in_reports(hide):
    split = f"see {TOKEN[:10]}{hide}{TOKEN[10:]} here"
    assert TOKEN not in md.text(split).replace("\\", "")
    assert TOKEN not in md.clean(split)
    assert TOKEN not in "\n".join(md.code_block(split))
    assert TOKEN not in html_report.esc(split)
    assert TOKEN not in sarif_report.visible(split)
    assert TOKEN not in junit_report.xml_text(split)


@pytest.mark.parametrize("hidden", ["\u00ad", "\U000e0041", "\u200b", "\u2060", "\u061c"])
def test_every_report_renderer_drops_the_consoles_invisible_class(hidden):
    text = f"a{hidden}b"
    assert html_report.esc(text) == "ab"
    assert junit_report.xml_text(text) == "ab"
    assert sarif_report.visible(text) == "ab"
    assert md.clean(text) == "ab"


# --- token shapes the first round did not list ----------------------------------------------

@pytest.mark.parametrize("secret", [
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx",
    "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
])
def test_jwt_and_slack_credentials_are_masked(secret):
    out = redact(f"worklog: called with {secret} ok")
    assert "***" in out
    tail = re.split(r"[/.]", secret)[-1]
    assert tail not in out


@pytest.mark.parametrize("text", ['password = "correct horse battery staple"', "db_password: 'correct horse battery'",
                                  '{"client_secret": "correct horse battery"}'])
def test_quoted_passphrase_with_spaces_is_masked_whole(text):
    from compliance.base.redact_doc import redact_data

    assert "battery" not in redact(text)
    assert "battery" not in json.dumps(redact_data({"body": text}))
    assert redact('password="hunter22" user="bob smith"') == 'password="***" user="bob smith"'


# --- recorded by the probe, fixed after it --------------------------------------------------------



def test_secret_name_followed_by_space_is_masked():
    assert "wJalrXUtnFEMI" not in redact("AWS_SECRET_ACCESS_KEY wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def test_token_split_by_zero_width_space_is_masked_at_the_source():
    assert TOKEN[10:] not in redact(f"{TOKEN[:10]}\u200b{TOKEN[10:]}")
    for hidden in ("\u200b", "\x1b", "\u00ad", "\U000e0041"):  # and the JSON quick check agrees with the walk
        doc = redact_data({"subject": f"fix {TOKEN[:10]}{hidden}{TOKEN[10:]}", "n": [1]})
        assert TOKEN[10:] not in json.dumps(doc, ensure_ascii=False)
    assert redact("zero\u200bwidth prose") == "zero\u200bwidth prose"  # nothing to mask: left for the renderers
    assert redact("the api_key header; set PASSWORD before") == "the api_key header; set PASSWORD before"


# --- inputs that are not files: a FIFO blocked forever, /dev/zero filled memory ---------------

@pytest.fixture()
def fifo(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def _no_hang(fn, *args):
    """Run ``fn`` in a thread; a read of a FIFO with no writer would block the test run forever."""
    box: dict[str, BaseException | object] = {}

    def target():
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():
        with open(args[-1], "wb"):  # unblock the reader so the thread ends
            pass
        pytest.fail(f"{fn.__name__} blocked on a named pipe")
    return box


@pytest.mark.parametrize("reader", ["source", "snapshot", "previous", "yaml"])
def test_named_pipe_inputs_are_refused_not_waited_on(reader, fifo):
    from compliance.inputs.yamlpos import load_yaml
    from compliance.model.snapshot import load_snapshot
    from compliance.report.diff import load_previous
    from compliance.sources.files import read_source_file

    fns = {"source": lambda p: read_source_file("git", p), "snapshot": load_snapshot,
           "previous": load_previous, "yaml": load_yaml}
    fn = fns[reader]
    fn.__name__ = reader
    box = _no_hang(fn, str(fifo))
    assert "named pipe" in str(box.get("error")), box


@pytest.mark.parametrize("reader", ["source", "snapshot", "previous", "yaml"])
def test_devices_are_refused_before_reading(reader):
    from compliance.inputs.yamlpos import load_yaml
    from compliance.model.snapshot import load_snapshot
    from compliance.report.diff import load_previous
    from compliance.sources.files import read_source_file

    fns = {"source": lambda p: read_source_file("git", p), "snapshot": load_snapshot,
           "previous": load_previous, "yaml": load_yaml}
    with pytest.raises(Exception, match="device") as info:  # /dev/zero: read whole, it never ends
        fns[reader]("/dev/zero")
    assert not isinstance(info.value, MemoryError)


# --- GITHUB_API_URL with characters urlsplit drops ----------------------------------------------

@pytest.mark.parametrize("url", ["https://api.github.com\n.evil.com", "https://api.github.com\t.evil.com/api",
                                 "https://api.github.com\r\n.evil.com", "https://api.github.com\x00.evil.com",
                                 "https://api.git hub.com"])
def test_api_url_with_control_characters_is_refused(url, monkeypatch):
    from compliance.base.errors import ComplianceError
    from compliance.sources.github import api_url

    with pytest.raises(ComplianceError, match="not usable"):
        api_url(url)
    if "\x00" not in url:  # the environment cannot hold a NUL
        monkeypatch.setenv("GITHUB_API_URL", url)
        with pytest.raises(ComplianceError, match="not usable"):
            api_url()


# --- environment secrets in the forms they take inside other text ------------------------------

AWS_SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize("form", [
    pytest.param(lambda v: urllib.parse.quote(v, safe=""), id="percent-encoded"),
    pytest.param(lambda v: urllib.parse.quote(v), id="percent-encoded-keeping-slash"),
    pytest.param(lambda v: json.dumps({"k": v}), id="json-in-a-string"),
    pytest.param(lambda v: json.dumps({"k": v}).replace("/", "\\/"), id="json-escaped-slash"),
])
def test_environment_secret_is_masked_in_encoded_forms(form, monkeypatch):
    from compliance.base.redact_doc import redact_data

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SK)
    text = f"called https://example.invalid/?x={form(AWS_SK)} then"
    assert "EXAMPLEKEY" not in redact(text)
    assert "EXAMPLEKEY" not in json.dumps(redact_data({"body": text}))


def test_percent_encoded_sts_token_is_masked():
    token = "IQoJb3JpZ2luX2VjEJr%2F%2F%2F%2F%2F%2F%2F%2F%2FwEaCXVzLWVhc3QtMSJHMEUCIQDabcdefghijkl"
    assert "IQoJb3JpZ2lu" not in redact(f"presigned ?token {token} end")


# --- the Actions event payload ------------------------------------------------------------------

@pytest.mark.parametrize("payload", ["[]", '{"pull_request": "x"}', '{"number": true}',
                                     '{"pull_request": {"number": -5}}', '{"pull_request": {"number": 0}}',
                                     "[" * 100000 + "]" * 100000])
def test_malformed_event_payload_is_a_clean_error(payload, tmp_path):
    from compliance.app.pr import pr_number_from_event
    from compliance.base.errors import ComplianceError

    event = tmp_path / "event.json"
    event.write_text(payload)
    with pytest.raises(ComplianceError):
        pr_number_from_event(str(event))


def test_event_payload_that_is_a_device_or_pipe_is_refused(fifo):
    from compliance.app.pr import pr_number_from_event
    from compliance.base.errors import ComplianceError

    with pytest.raises(ComplianceError, match="device"):
        pr_number_from_event("/dev/zero")
    box = _no_hang(pr_number_from_event, str(fifo))
    assert "named pipe" in str(box.get("error")), box


def test_event_payload_pr_number_still_read(tmp_path):
    from compliance.app.pr import pr_number_from_event

    event = tmp_path / "event.json"
    event.write_text('{"pull_request": {"number": 12}, "number": 12}')
    assert pr_number_from_event(str(event)) == 12


# --- a target named after a file of the report set --------------------------------------------

@pytest.mark.parametrize("name", ["waivers.yaml", "Waivers.YAML"])
def test_target_named_like_the_saved_waivers_is_refused(name, tmp_path):
    from compliance.inputs.config import load_config

    config = tmp_path / "compliance.yaml"
    config.write_text(
        "version: 1\ntargets:\n"
        f"  - {{name: {name}, repo: ., branch: main}}\n"
        "  - {name: other, repo: ., branch: main}\n"
    )
    with pytest.raises(InputError) as info:
        load_config(str(config))
    assert any("report folder" in str(p) for p in info.value.problems), info.value.problems
