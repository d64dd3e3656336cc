"""Fast paths of the judge read exactly what the plain reading gives.

``Context.changes`` asks the scope about each distinct path once and reuses the answer for every commit
touching that path; ``history.time_of`` remembers parsed times. Both must give what asking every time
gives, whatever the paths, the scope (includes, excludes) or the recorded times.
"""

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.base.timeutil import parse_time
from compliance.judge.context import Context
from compliance.judge.history import time_of
from compliance.model.rules import Scope
from tests.hypothesis_budget import examples

PATHS = ["backend/lambda/coordination_api/app.py", "backend/lambda/coordination_api/governance_data_dictionary.json",
         "tools/enceladus-mcp-server/server.py", "docs/readme.md", "backend/lambda/other/app.py",
         "backend/lambda/coordination_api/sub/dir/x.py", ".github/workflows/api-mcp-backend-deploy.yml"]
GLOBS = ["backend/lambda/coordination_api/**", "tools/enceladus-mcp-server/**", "**/*.json", "docs/*",
         "backend/**/app.py", ".github/workflows/*.yml", "**"]


def _snapshot(commit_files: list[list[str]]) -> dict:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    commits = [{"sha": f"{i:040x}", "committed_at": (start + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "files": [{"path": p, "status": "M"} for p in files], "task_ids": [], "kind": "direct_push",
                "subject": f"change {i}", "body": "", "parents": []} for i, files in enumerate(commit_files)]
    return {"target": {"branch": "main"}, "collected_at": "2026-06-01T00:00:00Z",
            "window": {"since": "2025-01-01T00:00:00Z", "until": "2026-06-01T00:00:00Z"},
            "sources": {"git": {"status": "ok", "data": {"branch": "main", "commits": commits}}}}


@settings(max_examples=examples(200), deadline=None)
@given(commit_files=st.lists(st.lists(st.sampled_from(PATHS), max_size=4), max_size=12),
       include=st.lists(st.sampled_from(GLOBS), max_size=3, unique=True),
       exclude=st.lists(st.sampled_from(GLOBS), max_size=2, unique=True))
def test_changes_are_the_commits_the_scope_selects(commit_files, include, exclude):
    scope = Scope(tuple(include), tuple(exclude))
    ctx = Context(_snapshot(commit_files))
    want = [i for i, files in enumerate(commit_files) if scope.is_empty or scope.select(files)]
    assert [c.position for c in ctx.changes(scope)] == want
    # a second scope on the same context asks again, never with the first one's answers
    other = Scope(tuple(exclude), tuple(include))
    assert [c.position for c in ctx.changes(other)] == [i for i, files in enumerate(commit_files)
                                                         if other.is_empty or other.select(files)]


def test_an_excluded_path_seen_first_does_not_hide_a_later_included_one():
    """The lying shape for the per-path memo: the generated file (excluded) comes first, in every commit,
    and a commit touching only it is no change; one touching it and a governed file is."""
    gen, app = PATHS[1], PATHS[0]
    scope = Scope(("backend/lambda/coordination_api/**",), ("**/governance_data_dictionary.json",))
    ctx = Context(_snapshot([[gen], [gen, app], [gen], [app, gen]]))
    assert [c.position for c in ctx.changes(scope)] == [1, 3]


@settings(max_examples=examples(300), deadline=None)
@given(st.one_of(st.text(max_size=30), st.sampled_from(["2026-02-25T08:29:47Z", "2026-02-25T00:31:02-08:00",
                                                        "2026-02-25T08:29:47.000+0000", "2026-02-25", "9999-12-31T23:59:59Z",
                                                        "0001-01-01T00:00:00Z", "2026-13-01T00:00:00Z", " ", ""])))
def test_time_of_is_parse_time(value):
    assert time_of(value) == parse_time(value)
    assert time_of(value) == parse_time(value)  # and again, remembered


def test_time_of_takes_what_parse_time_takes():
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert time_of(now) == now and time_of(None) is None
