"""compliance.yaml: validated with locations, paths relative to the file, no secrets."""

from __future__ import annotations

import os

import pytest

from compliance.base.errors import InputError
from compliance.inputs.config import Config, load_config
from tests.reportfile import read_report

FULL = """\
version: 1
target:
  name: enceladus-api-mcp
  repo: ../enceladus
  github_repo: NX-2021-L/enceladus
  branch: main
  workflow: .github/workflows/api-mcp-backend-deploy.yml
  deploy_script: backend/lambda/coordination_api/deploy.sh
  region: us-west-2
  function: devops-coordination-api
  http_api: devops-tracker-api
  capability_url: https://example.invalid/api/v1/coordination/capabilities
  task_id_pattern: null
  tracker: {table: devops-project-tracker, project: enceladus}
  deploy_manager: {table: devops-deployment-manager}
policies: [policies/, extra/more.yaml]
reports_dir: reports/
sources:
  github: {file: data/github.json}
  probe: {timeout_seconds: 5}
"""


def write(tmp_path, text: str, name: str = "compliance.yaml") -> str:
    d = tmp_path / "cfg"
    d.mkdir(exist_ok=True)
    f = d / name
    f.write_text(text)
    return str(f)


def problems(path: str) -> list[str]:
    with pytest.raises(InputError) as info:
        load_config(path)
    assert info.value.what == "config"
    return [str(p) for p in info.value.problems]


def test_full_config_paths_resolved_relative_to_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, FULL)
    monkeypatch.chdir("/")  # the working directory must not matter
    cfg = load_config(path)
    base = tmp_path / "cfg"
    assert isinstance(cfg, Config) and cfg.path == path
    assert cfg.target["repo"] == str(tmp_path / "enceladus")
    assert cfg.target["branch"] == "main"
    assert cfg.target["tracker"] == {"table": "devops-project-tracker", "project": "enceladus"}
    assert cfg.target["task_id_pattern"] is None
    # tool-relative paths inside the governed repo are left as written
    assert cfg.target["workflow"] == ".github/workflows/api-mcp-backend-deploy.yml"
    assert cfg.policies == [str(base / "policies"), str(base / "extra" / "more.yaml")]
    assert cfg.reports_dir == str(base / "reports")
    assert cfg.sources == {"github": {"file": str(base / "data" / "github.json")}, "probe": {"timeout_seconds": 5}}
    assert cfg.source_options("lambda") == {}


def test_minimal_config_defaults(tmp_path, capsys):
    path = write(tmp_path, "version: 1\ntarget: {branch: main}\n")
    cfg = load_config(path)
    base = os.path.dirname(path)
    assert cfg.target == {"branch": "main"}
    assert cfg.policies == ["builtin:api-mcp-runbook"]  # the built-in rules, and the run says so
    assert f"note: {path} names no policies: judging with the built-in rules (builtin:api-mcp-runbook)" \
        in capsys.readouterr().err
    assert cfg.reports_dir == os.path.join(base, "reports")
    assert cfg.sources == {}


def test_every_problem_located_with_did_you_mean(tmp_path):
    path = write(tmp_path, """\
version: 2
target:
  name: x
  brnch: main
  regon: us-west-2
  task_id_pattern: "ENC-(["
  tracker: {tabel: t}
sources:
  gihub: {file: x.json}
  probe: {timeout: 5}
polices: [p/]
""")
    # the misspelled required 'branch' is reported once, as the did-you-mean
    assert problems(path) == [
        f"{path}:1:10: expected 1, got 2",
        f"{path}:4:3: unknown key 'brnch'; did you mean 'branch'?",
        f"{path}:5:3: unknown key 'regon'; did you mean 'region'?",
        f"{path}:6:20: invalid regular expression 'ENC-([': unterminated character set",
        f"{path}:7:13: unknown key 'tabel'; did you mean 'table'?",
        f"{path}:9:3: unknown key 'gihub'; did you mean 'github'?",
        f"{path}:10:11: unknown key 'timeout'; did you mean 'timeout_seconds'?",
        f"{path}:11:1: unknown key 'polices'; did you mean 'policies'?",
    ]


def test_missing_branch_located_at_target(tmp_path):
    path = write(tmp_path, "version: 1\ntarget:\n  name: x\n")
    assert problems(path) == [f"{path}:3:3: missing required key 'branch'"]


def test_secret_keys_rejected_with_environment_hint(tmp_path):
    path = write(tmp_path, """\
version: 1
target:
  branch: main
  github_token: abc
sources:
  lambda: {aws_secret_access_key: xyz}
  github: {api_key: k, file: gh.json}
""")
    found = problems(path)
    assert [p.split(": ")[0] for p in found] == [f"{path}:4:3", f"{path}:6:12", f"{path}:7:12"]
    assert "'github_token' looks like a secret" in found[0]
    assert "set them in the environment instead (e.g. GITHUB_TOKEN)" in found[0]
    assert "(e.g. AWS_SECRET_ACCESS_KEY)" in found[1]
    assert not any("unknown key" in p for p in found)


def test_token_shaped_value_rejected(tmp_path):
    path = write(tmp_path, "version: 1\ntarget:\n  branch: main\n  name: ghp_" + "a" * 36 + "\n")
    (found,) = problems(path)
    assert found.startswith(f"{path}:4:9: this value looks like a token")


def test_null_section_is_a_type_error(tmp_path):
    path = write(tmp_path, "version: 1\ntarget: {branch: main}\nsources:\n")
    assert problems(path) == [f"{path}:3:9: expected a mapping, got null"]


def test_config_yaml_errors_use_the_same_locations(tmp_path):
    path = write(tmp_path, "version: 1\ntarget:\n  branch: main\n  branch: dev\n")
    assert problems(path) == [f"{path}:4:3: duplicate key 'branch' (first defined on line 3)"]


@pytest.mark.parametrize("key, url", [
    ("capability_url", "http://user:S3cret@host.example/api/v1/coordination/capabilities"),
    ("capability_url", "https://S3cretTokenOnly@host.example/x"),
    ("capability_url", "http://u:p4ssw0rd@host.example/x"),
])
def test_a_url_with_credentials_is_refused_with_why(tmp_path, key, url):
    path = write(tmp_path, f"version: 1\ntarget:\n  branch: main\n  {key}: {url}\n")
    (found,) = problems(path)
    assert found.startswith(f"{path}:4:{len(key) + 5}: this URL carries a user name or password")
    assert "printed in reports" in found
    assert "S3cret" not in found and "p4ssw0rd" not in found  # the refusal does not print the secret either


def test_a_url_refused_for_its_scheme_does_not_print_its_password(tmp_path):
    path = write(tmp_path, "version: 1\ntarget:\n  branch: main\n  capability_url: FTP://u:p4ssw0rd@host/x\n")
    found = problems(path)
    assert any("does not match the pattern" in p for p in found)
    assert any("this URL carries a user name or password" in p for p in found)
    assert not any("p4ssw0rd" in p for p in found)


def test_an_endpoint_url_with_credentials_is_refused(tmp_path):
    path = write(tmp_path, "version: 1\ntarget: {branch: main}\nsources:\n"
                           "  lambda: {endpoint_url: 'http://admin:hunter22@127.0.0.1:5000'}\n")
    (found,) = problems(path)
    assert found.startswith(f"{path}:4:26: this URL carries a user name or password")


@pytest.mark.parametrize("url", ["https://host.example/x?next=a@b", "https://host.example/users/@me",
                                 "http://127.0.0.1:5000/"])
def test_an_at_sign_after_the_host_is_no_credential(tmp_path, url):
    path = write(tmp_path, f"version: 1\ntarget:\n  branch: main\n  capability_url: '{url}'\n")
    assert load_config(path).target["capability_url"] == url


@pytest.mark.parametrize("name", ["report.json", "report.html", "REPORT.md", "report.junit.xml", "snapshot.json",
                                  "previous", "deploy-20260301T000000Z-abc.log", "Snapshot.JSON"])
def test_a_target_name_that_collides_with_a_report_file_is_refused(tmp_path, name):
    path = write(tmp_path, f"version: 1\ntargets:\n  - name: ok\n    branch: main\n  - name: {name}\n"
                           "    branch: main\n")
    (found,) = problems(path)
    assert found.startswith(f"{path}:5:11: target name {name!r} is the name of a file the report folder holds")


def test_a_single_target_named_like_a_report_file_is_refused_too(tmp_path):
    path = write(tmp_path, "version: 1\ntarget:\n  name: report.json\n  branch: main\n")
    (found,) = problems(path)
    assert found.startswith(f"{path}:3:9: target name 'report.json'")


@pytest.mark.parametrize("name", ["report", "reports", "report-json", "snapshot", "deploy", "api.report.json"])
def test_names_near_the_report_files_are_fine(tmp_path, name):
    path = write(tmp_path, f"version: 1\ntargets:\n  - name: {name}\n    branch: main\n")
    assert load_config(path).target_names == [name]


def test_sources_git_file_is_resolved_like_the_other_sources(tmp_path):
    path = write(tmp_path, "version: 1\ntarget: {branch: main}\nsources:\n  git: {file: data/git.json}\n")
    assert load_config(path).source_options("git") == {"file": str(tmp_path / "cfg" / "data" / "git.json")}


def test_sources_git_file_is_read_instead_of_the_repository(request, capsys):
    """Item 19: the schema accepted ``sources.git.file`` and collection ignored it, reading target.repo."""
    import json

    import responses

    from compliance.cli import main
    from tests.github_payloads import FakeGitHub
    from tests.live_system import audit_args

    system = request.getfixturevalue("make_system")()
    live = system.root / "live"
    with responses.RequestsMock() as rsps:
        FakeGitHub(rsps, system.runs())
        main(audit_args(system.config, live))
    capsys.readouterr()
    git = json.loads((live / "snapshot.json").read_text("utf-8"))["sources"]["git"]
    (system.root / "git.json").write_text(json.dumps(git["data"]), "utf-8")
    text = system.config.read_text("utf-8")
    assert "\n  repo: enceladus\n" in text
    text = text.replace("\n  repo: enceladus\n", "\n  repo: absent\n")  # no repository to read: only the file
    system.config.write_text(text + "sources:\n  git: {file: git.json}\n", "utf-8")
    offline = system.root / "offline"
    with responses.RequestsMock() as rsps:
        FakeGitHub(rsps, system.runs())
        main(audit_args(system.config, offline))
    capsys.readouterr()
    snap = json.loads((offline / "snapshot.json").read_text("utf-8"))["sources"]["git"]
    assert snap["status"] == "ok" and snap["provenance"]["kind"] == "file"
    assert snap["data"] == git["data"]

    def verdicts(out):
        return sorted((f["rule_id"], f["subject"], f["status"])
                      for f in read_report(out / "report.json")["findings"])

    assert verdicts(offline) == verdicts(live)


def test_the_cli_refuses_a_colliding_target_name_before_collecting(tmp_path, capsys):
    from compliance.cli import main

    path = write(tmp_path, "version: 1\ntargets:\n  - {name: api, branch: main}\n  - {name: report.json, branch: main}\n")
    code = main(["audit", "--config", path, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and f"{path}:4:12: target name 'report.json'" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing half-written
