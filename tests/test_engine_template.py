"""The engine fills a rule's remediation from a template split once per evaluation (``engine._Template``): it
must give exactly what ``engine.fill`` gives with the finding's values, on any template, value and subject."""

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.judge import engine
from compliance.judge.context import Context
from tests.hypothesis_budget import examples

NAMES = ["subject", "sha", "function", "region", "branch", "workflow", "workflow_file", "repo", "runbook", "unknown"]
pieces = st.one_of(
    st.sampled_from([f"{{{n}}}" for n in NAMES]),
    st.sampled_from(["{", "}", "{{sha}}", "{ sha }", "{sha", "sha}", "{}", "{subject}{sha}", "'", '"', "$(id)", " ", "\n"]),
    st.text(max_size=6),
)
field_text = st.lists(pieces, max_size=8).map("".join)
value = st.one_of(st.text(max_size=12), st.sampled_from(["x$(id>pwned)", "a b", "-rf", "'", "", "{sha}", "{subject}"]))
target = st.fixed_dictionaries({"function": value, "region": value, "branch": value, "workflow": value,
                                "github_repo": value, "runbook": value})


def _ctx(tgt):
    return Context({"target": tgt, "sources": {}, "window": {}, "collected_at": None})


@settings(max_examples=examples(500), deadline=None)
@given(text=field_text, command=field_text, tgt=target, subject=value,
       sha=st.one_of(st.none(), value), other=st.booleans())
def test_template_fills_what_fill_fills(text, command, tgt, subject, sha, other):
    ctx = _ctx(tgt)
    template = {"text": text, "command": command}
    evidence = [{"kind": "run", "sha": "not this one"}] if other else []
    if sha is not None:
        evidence.append({"kind": "commit", "sha": sha})
    want = engine.fill(template, {"subject": subject, "sha": sha or "", **ctx.target_values})
    assert engine._Template(template, ctx).fill(subject, evidence) == want


def test_a_filled_value_is_never_read_again_for_placeholders():
    ctx = _ctx({"function": "{sha}", "branch": "main"})
    template = {"text": "{function} at {sha} on {branch} {nope}", "command": "deploy {subject} {function}"}
    got = engine._Template(template, ctx).fill("{function}", [{"kind": "commit", "sha": "$(id)"}])
    assert got == {"text": "{sha} at $(id) on main {nope}", "command": "deploy '{function}' '{sha}'"}


def test_a_template_without_placeholders_does_not_read_the_target():
    class NoTarget(Context):
        @property
        def target(self):
            raise AssertionError("read the target")

    ctx = NoTarget({"sources": {}})
    template = {"text": "plain", "command": ""}
    assert engine._Template(template, ctx).fill("s", []) == template
