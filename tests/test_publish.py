"""Publishing to GitHub through PyGithub against ``responses``: request counts and bodies, the
commit-status fallback, one PR comment and one tracking issue however often we publish.

Payloads follow GitHub's documented shapes, trimmed to the fields the code reads.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from compliance.publish import (
    PublishError,
    close_tracking_issue_if_open,
    publish_check_run,
    upsert_pr_comment,
    upsert_tracking_issue,
    write_step_summary,
)
from compliance.publish import github as gh_publish
from compliance.sources.base import Meter

API = "https://api.github.com:443"
REPO = "octo/enceladus"
SHA = "9febe19f1368" + "0" * 28
TOKEN = "ghs_" + "S3cr3tT0k3nValue" * 3
FAST = {"seconds_between_requests": None, "seconds_between_writes": None, "retry": None}
WF = ".github/workflows/api-mcp-backend-deploy.yml"


def finding(i: int, status: str = "fail", severity: str = "high", located: bool = True) -> dict:
    out = {
        "rule_id": f"APIMCP-{i % 7:03d}",
        "check": "workflow_push_filter",
        "title": "t",
        "severity": severity,
        "runbook_section": "Canonical Automation",
        "subject_type": "file",
        "subject": f"subject-{i:04d}",
        "status": status,
        "message": f"problem {i}",
        "evidence": [],
        "remediation": {"text": "fix it", "command": f"compliance fix --n {i}"},
    }
    if located:
        out["location"] = {"path": WF, "line": i + 1}
    return out


def make_doc(findings: list[dict], verdict: str = "fail") -> dict:
    counts = {s: sum(1 for f in findings if f["status"] == s)
              for s in ("pass", "fail", "error", "waived", "not_applicable")}
    return {
        "report_version": 1,
        "tool": {"name": "compliance", "version": "0.1.0"},
        "mode": "pr",
        "snapshot": {"digest": "sha256:" + "ab" * 32, "collected_at": "2026-03-01T00:00:00Z",
                     "window": {"since": "2026-02-01T00:00:00Z", "until": "2026-03-01T00:00:00Z", "branch": "main"},
                     "target": {"github_repo": REPO}, "rules": {}},
        "summary": {**counts, "exit_code": {"pass": 0, "fail": 1, "error": 2}[verdict], "verdict": verdict},
        "sources": [], "rules": [], "findings": findings, "changes": [], "not_evaluated": [],
    }


def body(call) -> dict:
    return json.loads(call.request.body)


def check_run_payload(run_id: int, status: str = "in_progress", conclusion: str | None = None) -> dict:
    return {
        "id": run_id,
        "head_sha": SHA,
        "node_id": "CR_kw",
        "external_id": "",
        "url": f"https://api.github.com/repos/{REPO}/check-runs/{run_id}",
        "html_url": f"https://github.com/{REPO}/runs/{run_id}",
        "details_url": None,
        "status": status,
        "conclusion": conclusion,
        "started_at": "2026-03-01T00:00:00Z",
        "completed_at": None,
        "output": {"title": "t", "summary": "s", "text": None, "annotations_count": 0,
                   "annotations_url": f"https://api.github.com/repos/{REPO}/check-runs/{run_id}/annotations"},
        "name": "compliance",
    }


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        yield r


def assert_no_token_anywhere(rsps, *texts):
    for call in rsps.calls:
        sent = call.request.body or b""
        assert TOKEN not in (sent.decode() if isinstance(sent, bytes) else sent)
        assert TOKEN not in call.request.url
    for text in texts:
        assert TOKEN not in str(text)


# --------------------------------------------------------------------------- check run


def test_120_annotations_take_exactly_three_requests(rsps):
    rsps.add(responses.POST, f"{API}/repos/{REPO}/check-runs", json=check_run_payload(7), status=201)
    rsps.add(responses.PATCH, f"{API}/repos/{REPO}/check-runs/7", json=check_run_payload(7))
    findings = [finding(i) for i in range(120)] + [finding(500, located=False), finding(501, "pass")]
    meter = Meter()
    result = publish_check_run(REPO, SHA, make_doc(findings), token=TOKEN, meter=meter,
                               details_url="https://github.com/octo/enceladus/actions/runs/1", **FAST)

    assert [c.request.method for c in rsps.calls] == ["POST", "PATCH", "PATCH"]
    bodies = [body(c) for c in rsps.calls]
    assert [len(b["output"]["annotations"]) for b in bodies] == [50, 50, 20]
    # Created in progress; only the last update completes it, with the conclusion.
    assert bodies[0]["name"] == "compliance" and bodies[0]["head_sha"] == SHA
    assert bodies[0]["status"] == "in_progress" and "conclusion" not in bodies[0]
    assert bodies[0]["details_url"] == "https://github.com/octo/enceladus/actions/runs/1"
    assert "status" not in bodies[1] and "conclusion" not in bodies[1]
    assert bodies[2]["status"] == "completed" and bodies[2]["conclusion"] == "failure"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", bodies[2]["completed_at"])
    for b in bodies:
        assert b["output"]["title"].startswith("Compliance: fail")
        assert len(b["output"]["summary"]) <= 65_535
    sent = [a for b in bodies for a in b["output"]["annotations"]]
    assert len(sent) == 120 and len({(a["path"], a["start_line"]) for a in sent}) == 120
    first = next(a for a in sent if a["start_line"] == 1)
    assert first == {"path": WF, "start_line": 1, "end_line": 1, "annotation_level": "failure",
                     "message": "file subject-0000: problem 0", "title": "APIMCP-000",
                     "raw_details": "compliance fix --n 0"}
    assert result == {"kind": "check_run", "id": 7, "url": f"https://github.com/{REPO}/runs/7",
                      "conclusion": "failure", "annotations": 120, "requests": 3}
    assert meter.requests == 3
    assert rsps.calls[0].request.headers["Authorization"] == f"token {TOKEN}"
    assert_no_token_anywhere(rsps, result)


@pytest.mark.parametrize(("n", "requests"), [(0, 1), (1, 1), (50, 1), (51, 2), (100, 2), (101, 3)])
def test_batches_of_at_most_50(rsps, n, requests):
    rsps.add(responses.POST, f"{API}/repos/{REPO}/check-runs", json=check_run_payload(8), status=201)
    rsps.add(responses.PATCH, f"{API}/repos/{REPO}/check-runs/8", json=check_run_payload(8))
    publish_check_run(REPO, SHA, make_doc([finding(i) for i in range(n)], "fail" if n else "pass"), token="t", **FAST)
    assert len(rsps.calls) == requests
    assert all(len(body(c)["output"]["annotations"]) <= 50 for c in rsps.calls)
    last = body(rsps.calls[-1])
    assert last["status"] == "completed"
    assert last["conclusion"] == ("failure" if n else "success")


def test_annotation_levels_and_error_findings():
    doc = make_doc([finding(0, severity="critical"), finding(1, severity="medium"), finding(2, severity="low"),
                    finding(3, severity="info"), finding(4, status="error", severity="info"),
                    finding(5, status="waived"), finding(6, status="fail", located=False)], "error")
    notes = gh_publish.annotations(doc)
    assert [(a["start_line"], a["annotation_level"]) for a in notes] == [
        (1, "failure"), (2, "warning"), (3, "notice"), (4, "notice"), (5, "failure")]
    assert notes[-1]["message"].startswith("could not evaluate: ")


def test_conclusion_follows_the_gate_when_given():
    assert gh_publish.conclusion(make_doc([], "pass")) == "success"
    assert gh_publish.conclusion(make_doc([finding(0)], "fail")) == "failure"
    assert gh_publish.conclusion(make_doc([finding(0, "error")], "error")) == "failure"
    assert gh_publish.conclusion(make_doc([finding(0)], "fail"), exit_code=0) == "neutral"  # --soft-fail
    assert gh_publish.conclusion(make_doc([finding(0)], "fail"), exit_code=1) == "failure"
    assert gh_publish.status_state(make_doc([finding(0, "error")], "error")) == "error"
    assert gh_publish.status_state(make_doc([finding(0)], "fail")) == "failure"
    assert gh_publish.status_state(make_doc([finding(0)], "fail"), exit_code=0) == "success"


def test_oversized_summary_is_capped(rsps):
    rsps.add(responses.POST, f"{API}/repos/{REPO}/check-runs", json=check_run_payload(9), status=201)
    publish_check_run(REPO, SHA, make_doc([]), token="t", markdown="x" * 70_000, **FAST)
    summary = body(rsps.calls[0])["output"]["summary"]
    assert len(summary.encode("utf-8")) == 65_535 and "truncated" in summary


def test_a_summary_of_many_byte_characters_is_capped_in_bytes(rsps):
    """Probe 13: GitHub measures the summary in UTF-8 bytes; 64,739 characters of ✗ and → were 66,321
    bytes, answered 422, and no check run was published."""
    rsps.add(responses.POST, f"{API}/repos/{REPO}/check-runs", json=check_run_payload(9), status=201)
    publish_check_run(REPO, SHA, make_doc([]), token="t", markdown="✗ a → b · " * 8_000, **FAST)
    summary = body(rsps.calls[0])["output"]["summary"]
    assert 65_535 - 4 <= len(summary.encode("utf-8")) <= 65_535 and "truncated" in summary
    assert "\ufffd" not in summary  # cut between characters, not inside one


BOUNDED = {"seconds_between_requests": None, "seconds_between_writes": None}  # the publishers' own retry


def test_a_post_github_failed_is_not_sent_again(rsps, monkeypatch):
    """Probe 13: PyGithub's default retry sent a check-run POST answered 502 again (GitHub may have made the
    first: two check runs), and waited out any Retry-After, ten times over."""
    import time
    monkeypatch.setattr(time, "sleep", lambda s: None)  # urllib3's backoff: not measured here
    rsps.add(responses.POST, f"{API}/repos/{REPO}/check-runs", json={"message": "Bad Gateway"}, status=502)
    with pytest.raises(gh_publish.PublishError, match="HTTP 502"):
        publish_check_run(REPO, SHA, make_doc([finding(0)]), token="t", markdown="m", **BOUNDED)
    assert [c.request.method for c in rsps.calls] == ["POST"]


def test_a_rate_limit_is_not_waited_out_and_a_failed_get_is_tried_again_twice(rsps, monkeypatch):
    import time
    slept = []
    monkeypatch.setattr(time, "sleep", slept.append)
    rsps.add(responses.POST, f"{API}/repos/{REPO}/check-runs", json={"message": "You have exceeded a secondary rate limit"},
             status=403, headers={"Retry-After": "3600"})
    with pytest.raises(gh_publish.PublishError, match="HTTP 403"):  # at once, with GitHub's words
        publish_check_run(REPO, SHA, make_doc([finding(0)]), token="t", markdown="m", **BOUNDED)
    assert sum(slept) < 5 and len(rsps.calls) == 1, slept
    fake = FakeIssues(rsps)
    rsps.replace(responses.GET, re.compile(rf"{re.escape(API)}/repos/{REPO}/issues/(\d+)/comments.*"),
                 json={"message": "Bad Gateway"}, status=502)
    with pytest.raises(gh_publish.PublishError, match="HTTP 502"):
        upsert_pr_comment(REPO, 5, "report", token="t", **BOUNDED)
    assert [c.request.method for c in rsps.calls[-3:]] == ["GET", "GET", "GET"] and not fake.ours()


def test_403_falls_back_to_a_commit_status(rsps):
    rsps.add(responses.POST, f"{API}/repos/{REPO}/check-runs", status=403, json={
        "message": "Resource not accessible by integration",
        "documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run",
        "status": "403",
    })
    rsps.add(responses.POST, f"{API}/repos/{REPO}/statuses/{SHA}", status=201, json={
        "id": 1, "url": f"https://api.github.com/repos/{REPO}/statuses/{SHA}", "state": "error",
        "description": "d", "context": "compliance", "target_url": None,
        "created_at": "2026-03-01T00:00:00Z", "updated_at": "2026-03-01T00:00:00Z",
    })
    doc = make_doc([finding(i) for i in range(3)] + [finding(9, "error")], "error")
    meter = Meter()
    result = publish_check_run(REPO, SHA, doc, token=TOKEN, meter=meter,
                               details_url="https://github.com/octo/enceladus/actions/runs/1", **FAST)

    assert [(c.request.method, urlsplit(c.request.url).path) for c in rsps.calls] == [
        ("POST", f"/repos/{REPO}/check-runs"), ("POST", f"/repos/{REPO}/statuses/{SHA}")]
    status = body(rsps.calls[1])
    assert status["state"] == "error" and status["context"] == "compliance"
    assert status["target_url"] == "https://github.com/octo/enceladus/actions/runs/1"
    assert len(status["description"]) <= 140 and status["description"].startswith("ERROR: 3 failed")
    assert result["kind"] == "commit_status" and result["fallback_from"] == "check_run"
    assert "403" in result["reason"] and "Resource not accessible by integration" in result["reason"]
    assert meter.requests == 2
    assert "commit status instead" in meter.warnings[0]
    assert_no_token_anywhere(rsps, result, meter.warnings)


def test_other_errors_are_raised_not_swallowed(rsps):
    rsps.add(responses.POST, f"{API}/repos/{REPO}/check-runs", status=422,
             json={"message": "Validation Failed", "errors": [{"resource": "CheckRun", "code": "invalid"}]})
    with pytest.raises(PublishError) as exc:
        publish_check_run(REPO, SHA, make_doc([finding(0)]), token=TOKEN, **FAST)
    assert "HTTP 422" in str(exc.value) and TOKEN not in str(exc.value)
    assert len(rsps.calls) == 1  # no fallback for a request GitHub found invalid


def test_bad_repository_name_is_rejected_before_any_request(rsps):
    with pytest.raises(PublishError):
        publish_check_run("not a repo", SHA, make_doc([]), token="t", **FAST)
    assert len(rsps.calls) == 0


# --------------------------------------------------------------------------- step summary


def test_step_summary_appends_when_set(tmp_path, monkeypatch):
    target = tmp_path / "summary.md"
    target.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    assert write_step_summary("## Compliance: PASS") == target
    write_step_summary("second\n")
    assert target.read_text(encoding="utf-8") == "earlier step\n## Compliance: PASS\nsecond\n"
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    assert write_step_summary("ignored") is None


# --------------------------------------------------------------------------- fake GitHub state


class FakeIssues:
    """Just enough of the issues API, with state, so repeated publishing can be observed."""

    def __init__(self, rsps, comments_on: int = 5, existing_comments: int = 0):
        self.issues: dict[int, dict] = {}
        self.comments: dict[int, dict] = {}
        self.next_id = 1000
        self.pr = comments_on
        self.me = "github-actions[bot]"  # who the token posts as (a person's token: set their login)
        base = f"{API}/repos/{REPO}"
        rsps.add_callback(responses.GET, f"{API}/user", self._user)
        for i in range(existing_comments):  # other people's comments, so our search has to page
            self._add_comment(self.pr, f"looks good {i}", "octocat")
        rsps.add_callback(responses.GET, re.compile(rf"{re.escape(base)}/issues/(\d+)/comments.*"), self._list_comments)
        rsps.add_callback(responses.POST, re.compile(rf"{re.escape(base)}/issues/(\d+)/comments"), self._create_comment)
        rsps.add_callback(responses.PATCH, re.compile(rf"{re.escape(base)}/issues/comments/(\d+)"), self._edit_comment)
        rsps.add_callback(responses.GET, re.compile(rf"{re.escape(base)}/issues(\?.*)?$"), self._list_issues)
        rsps.add_callback(responses.POST, re.compile(rf"{re.escape(base)}/issues$"), self._create_issue)
        rsps.add_callback(responses.PATCH, re.compile(rf"{re.escape(base)}/issues/(\d+)$"), self._edit_issue)

    # comments
    def _comment(self, cid: int) -> dict:
        c = self.comments[cid]
        return {
            "id": cid, "node_id": f"IC_{cid}", "body": c["body"], "user": {"login": c["user"], "id": 1,
                                                                            "type": "Bot" if c["user"].endswith("[bot]") else "User"},
            "url": f"https://api.github.com/repos/{REPO}/issues/comments/{cid}",
            "html_url": f"https://github.com/{REPO}/pull/{c['issue']}#issuecomment-{cid}",
            "issue_url": f"https://api.github.com/repos/{REPO}/issues/{c['issue']}",
            "created_at": "2026-03-01T00:00:00Z", "updated_at": "2026-03-01T00:00:00Z",
        }

    def _add_comment(self, issue: int, text: str, user: str = "github-actions[bot]") -> int:
        self.next_id += 1
        self.comments[self.next_id] = {"issue": issue, "body": text, "user": user}
        return self.next_id

    @staticmethod
    def _page(request, items: list) -> tuple[int, dict, str]:
        q = parse_qs(urlsplit(request.url).query)
        per_page = int(q.get("per_page", ["30"])[0])
        page = int(q.get("page", ["1"])[0])
        chunk = items[(page - 1) * per_page: page * per_page]
        return 200, {}, json.dumps(chunk)

    def _list_comments(self, request):
        number = int(re.search(r"/issues/(\d+)/comments", request.url).group(1))
        items = [self._comment(cid) for cid in sorted(self.comments) if self.comments[cid]["issue"] == number]
        return self._page(request, items)

    def _user(self, request):
        if self.me.endswith("[bot]"):  # GitHub refuses /user to an installation or workflow token
            return 403, {}, json.dumps({"message": "Resource not accessible by integration", "status": "403"})
        return 200, {}, json.dumps({"login": self.me, "id": 7, "type": "User"})

    def _create_comment(self, request):
        number = int(re.search(r"/issues/(\d+)/comments", request.url).group(1))
        cid = self._add_comment(number, json.loads(request.body)["body"], self.me)
        return 201, {}, json.dumps(self._comment(cid))

    def _edit_comment(self, request):
        cid = int(re.search(r"/comments/(\d+)", request.url).group(1))
        self.comments[cid]["body"] = json.loads(request.body)["body"]
        return 200, {}, json.dumps(self._comment(cid))

    def ours(self, marker: str = gh_publish.COMMENT_MARKER) -> list[dict]:
        return [c for c in self.comments.values() if c["body"].startswith(marker)]

    # issues
    def _issue(self, number: int) -> dict:
        i = self.issues[number]
        out = {
            "id": 50_000 + number, "node_id": f"I_{number}", "number": number, "title": i["title"],
            "body": i["body"], "state": i["state"], "labels": [{"name": n, "id": 1} for n in i["labels"]],
            "url": f"https://api.github.com/repos/{REPO}/issues/{number}",
            "html_url": f"https://github.com/{REPO}/{'pull' if i.get('pr') else 'issues'}/{number}",
            "comments": 0, "created_at": "2026-03-01T00:00:00Z", "updated_at": "2026-03-01T00:00:00Z",
        }
        if i.get("pr"):
            out["pull_request"] = {"url": f"https://api.github.com/repos/{REPO}/pulls/{number}"}
        return out

    def add_issue(self, title: str, labels: list[str], state: str = "open", pr: bool = False) -> int:
        number = len(self.issues) + 1
        self.issues[number] = {"title": title, "body": "", "state": state, "labels": labels, "pr": pr}
        return number

    def _list_issues(self, request):
        q = parse_qs(urlsplit(request.url).query)
        state = q.get("state", ["open"])[0]
        labels = set(q["labels"][0].split(",")) if "labels" in q else set()
        items = [self._issue(n) for n in sorted(self.issues)
                 if self.issues[n]["state"] == state and labels <= set(self.issues[n]["labels"])]
        return self._page(request, items)

    def _create_issue(self, request):
        data = json.loads(request.body)
        number = self.add_issue(data["title"], data.get("labels", []))
        self.issues[number]["body"] = data.get("body", "")
        return 201, {}, json.dumps(self._issue(number))

    def _edit_issue(self, request):
        number = int(re.search(r"/issues/(\d+)$", request.url).group(1))
        data = json.loads(request.body)
        for key in ("body", "state", "title"):
            if key in data:
                self.issues[number][key] = data[key]
        return 200, {}, json.dumps(self._issue(number))


def calls(rsps) -> list[tuple[str, str]]:
    return [(c.request.method, urlsplit(c.request.url).path) for c in rsps.calls]


# --------------------------------------------------------------------------- PR comment


def test_pr_comment_is_updated_not_duplicated(rsps):
    fake = FakeIssues(rsps, existing_comments=130)  # ours will be on page 2
    meter = Meter()
    first = upsert_pr_comment(REPO, 5, "## Compliance: FAIL", token=TOKEN, meter=meter, **FAST)
    assert first["action"] == "created"
    assert [m for m, _ in calls(rsps)] == ["GET", "GET", "POST"]
    rsps.calls.reset()

    second = upsert_pr_comment(REPO, 5, "## Compliance: PASS", token=TOKEN, meter=meter, **FAST)
    assert second == {"action": "updated", "id": first["id"], "url": first["url"]}
    assert calls(rsps) == [("GET", f"/repos/{REPO}/issues/5/comments"), ("GET", f"/repos/{REPO}/issues/5/comments"),
                           ("PATCH", f"/repos/{REPO}/issues/comments/{first['id']}")]
    assert [parse_qs(urlsplit(c.request.url).query).get("page") for c in rsps.calls[:2]] == [None, ["2"]]
    assert all(parse_qs(urlsplit(c.request.url).query)["per_page"] == ["100"] for c in rsps.calls[:2])
    ours = fake.ours()
    assert len(ours) == 1 and ours[0]["body"] == "<!-- compliance-report -->\n## Compliance: PASS"
    assert meter.requests == 6
    assert_no_token_anywhere(rsps, first, second)


def test_pr_comment_ignores_replies_that_quote_the_marker(rsps):
    fake = FakeIssues(rsps)
    quoted = fake._add_comment(5, "> <!-- compliance-report -->\n> quoted our report", "octocat")
    result = upsert_pr_comment(REPO, 5, "report", token="t", **FAST)
    assert result["action"] == "created"
    assert fake.comments[quoted]["body"].startswith("> ")


FAKE_PASS = f"{gh_publish.COMMENT_MARKER}\n## ✅ Compliance: PASS"


def test_a_marked_comment_someone_else_posted_is_left_alone(rsps):
    """Probe 13: anyone who can comment could post the marker and a fake PASS first; editing that comment
    published our report under their name (for them to edit back), and a refused edit left only theirs."""
    fake = FakeIssues(rsps)
    theirs = fake._add_comment(5, FAKE_PASS, "mallory")
    first = upsert_pr_comment(REPO, 5, "## Compliance: FAIL", token="t", **FAST)
    assert first["action"] == "created" and first["id"] != theirs
    assert upsert_pr_comment(REPO, 5, "## Compliance: FAIL again", token="t", **FAST) == {**first, "action": "updated"}
    assert fake.comments[theirs]["body"] == FAKE_PASS
    assert [c["user"] for c in fake.ours()] == ["mallory", "github-actions[bot]"]


def test_a_persons_token_updates_only_that_persons_comment(rsps):
    fake = FakeIssues(rsps)
    fake.me = "alice"
    theirs = fake._add_comment(5, FAKE_PASS, "mallory")
    meter = Meter()
    first = upsert_pr_comment(REPO, 5, "report 1", token="t", meter=meter, **FAST)
    second = upsert_pr_comment(REPO, 5, "report 2", token="t", meter=meter, **FAST)
    assert first["action"] == "created" and second == {**first, "action": "updated"}
    assert fake.comments[theirs]["body"] == FAKE_PASS and fake.comments[first["id"]]["body"].endswith("report 2")
    assert meter.requests == len(rsps.calls)  # GET /user counted like every other request


def test_pr_comment_stops_paging_once_found(rsps):
    fake = FakeIssues(rsps)
    ours = fake._add_comment(5, "<!-- compliance-report -->\nold")
    for i in range(150):
        fake._add_comment(5, f"later {i}", "octocat")
    result = upsert_pr_comment(REPO, 5, "new", token="t", **FAST)
    assert result["id"] == ours
    assert [m for m, _ in calls(rsps)] == ["GET", "PATCH"]


def test_pr_comment_is_capped(rsps):
    fake = FakeIssues(rsps)
    upsert_pr_comment(REPO, 5, "y" * 70_000, token="t", **FAST)
    assert len(fake.ours()[0]["body"].encode("utf-8")) == 65_536


# --------------------------------------------------------------------------- tracking issue


def test_tracking_issue_opened_once_then_updated(rsps):
    fake = FakeIssues(rsps)
    title = "Compliance audit failing: enceladus-api"
    fake.add_issue(title, ["compliance-audit"], pr=True)  # a PR with our title is not our issue
    fake.add_issue("Something else", ["compliance-audit"])
    fake.add_issue(title, ["compliance-audit"], state="closed")  # a closed one is history

    first = upsert_tracking_issue(REPO, title, "run 1: 3 failed", token=TOKEN, **FAST)
    assert first["action"] == "opened"
    assert calls(rsps) == [("GET", f"/repos/{REPO}/issues"), ("POST", f"/repos/{REPO}/issues")]
    q = parse_qs(urlsplit(rsps.calls[0].request.url).query)
    assert q["state"] == ["open"] and q["labels"] == ["compliance-audit"]
    assert body(rsps.calls[1]) == {"title": title, "body": "run 1: 3 failed", "labels": ["compliance-audit"]}
    rsps.calls.reset()

    second = upsert_tracking_issue(REPO, title, "run 2: 1 failed", token=TOKEN, comment="Run 2 failed.", **FAST)
    assert second == {"action": "updated", "number": first["number"], "url": first["url"]}
    n = first["number"]
    assert calls(rsps) == [("GET", f"/repos/{REPO}/issues"), ("PATCH", f"/repos/{REPO}/issues/{n}"),
                           ("POST", f"/repos/{REPO}/issues/{n}/comments")]
    assert body(rsps.calls[1]) == {"body": "run 2: 1 failed"}
    assert body(rsps.calls[2]) == {"body": "Run 2 failed."}
    open_ours = [i for i in fake.issues.values() if i["title"] == title and i["state"] == "open" and not i["pr"]]
    assert len(open_ours) == 1 and open_ours[0]["body"] == "run 2: 1 failed"
    rsps.calls.reset()

    closed = close_tracking_issue_if_open(REPO, title, token=TOKEN, **FAST)
    assert closed["action"] == "closed" and fake.issues[n]["state"] == "closed"
    assert body(rsps.calls[-1]) == {"state": "closed", "state_reason": "completed"}
    rsps.calls.reset()
    assert close_tracking_issue_if_open(REPO, title, token=TOKEN, **FAST) == {"action": "none"}
    assert [m for m, _ in calls(rsps)] == ["GET"]


def test_errors_are_redacted(rsps, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    rsps.add(responses.GET, re.compile(rf"{re.escape(API)}/repos/{REPO}/issues.*"), status=401,
             json={"message": f"Bad credentials {TOKEN}"})
    with pytest.raises(PublishError) as exc:
        upsert_tracking_issue(REPO, "t", "b", token=TOKEN, **FAST)
    assert "HTTP 401" in str(exc.value) and TOKEN not in str(exc.value)


# --------------------------------------------------------------------------- import cost


def test_pygithub_is_imported_lazily():
    code = ("import sys, compliance.publish, compliance.report, compliance.app.gating; "
            "print('github' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_doc_is_not_mutated(rsps):
    rsps.add(responses.POST, f"{API}/repos/{REPO}/check-runs", json=check_run_payload(7), status=201)
    rsps.add(responses.PATCH, f"{API}/repos/{REPO}/check-runs/7", json=check_run_payload(7))
    doc = make_doc([finding(i) for i in range(60)])
    before = copy.deepcopy(doc)
    publish_check_run(REPO, SHA, doc, token="t", **FAST)
    assert doc == before
