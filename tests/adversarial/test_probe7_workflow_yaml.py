"""Hostile workflow YAML: texts a pull request can carry to crash, stall or fool the workflow checks.

In PR mode the workflow text is the attacker's. PyYAML reads YAML 1.1 and GitHub a YAML 1.2 parser that
refuses duplicate and merge keys and files over 500 KB, so each text here is one GitHub would refuse, would
run differently than PyYAML reads it, or that costs a naive reader time and memory without bound. None may
pass, none may end as "internal error in check"; the controls (texts GitHub accepts, read as GitHub reads
them) keep passing. One real git repository holds every workflow, each judged by its own path.
"""

from __future__ import annotations

import pytest

from tests.gitrepo import GitRepo
from tests.scenario import DEPLOY_SH, GOOD_WORKFLOW, judge, snapshot

SCRIPT = "backend/lambda/coordination_api/deploy.sh"
KINDS = ("workflow_push_filter", "workflow_validation_asserts")
G = GOOD_WORKFLOW
TOOLS = '      - "tools/enceladus-mcp-server/**"\n'
VALIDATE = "      - name: Validate deployed Lambda state\n"
PATHS = ('    paths:\n      - "backend/lambda/coordination_api/**"\n' + TOOLS
         + '      - ".github/workflows/api-mcp-backend-deploy.yml"\n')
assert TOOLS in G and VALIDATE in G and PATHS in G and G.count("jobs:\n") == 1

# nine anchors, each a list of nine aliases of the previous: 9**9 (387 million) values from 500 bytes
BOMB = "\n".join(["x-a0: &a0 [x, x, x, x, x, x, x, x, x]"]
                 + [f"x-a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]) + "\n"
# anchors each holding the previous one a level deeper: a small text nested 200 deep once expanded
CHAIN = "\n".join(["x-c0: &c0 [x]"] + [f"x-c{i}: &c{i} [*c{i - 1}]" for i in range(1, 200)]) + "\n"

# GitHub would refuse these, or reads them otherwise than PyYAML: both checks fail, naming why
REFUSED = {
    # PyYAML keeps the last `on`; GitHub refuses the file ('on' is already defined)
    "duplicate-on": (G.replace("on:\n", "on:\n  push:\n    branches: [release]\n\"on\":\n", 1), "defined twice", 5),
    "duplicate-step-key": (G.replace("        run: backend/lambda/coordination_api/deploy.sh\n",
                                     "        run: echo skipped\n        run: backend/lambda/coordination_api/deploy.sh\n"),
                           "defined twice", 19),
    # `<<` merges in PyYAML; GitHub does not support merge keys
    "merge-key": ("x-t: &t\n  push: {}\n  workflow_dispatch: {}\n" + G.replace("on:\n", "on:\n  <<: *t\nx-old:\n", 1),
                  "merge key", 6),
    # U+2028 ends a comment for YAML 1.1 (PyYAML), not for YAML 1.2: the second path is hidden from GitHub
    "line-separator-in-comment": (G.replace(TOOLS, "      # the MCP server\u2028" + TOOLS), "U+2028", 7),
    "nel-in-comment": (G.replace(TOOLS, "      # the MCP server\x85" + TOOLS), "U+0085", 7),
    # an alias to the mapping that holds it: `on.x` is `on` itself
    "recursive-alias": (G.replace("on:\n  push:\n", "on: &r\n  x: *r\n  push:\n", 1), "recursive", 3),
    # billion laughs in the filter, and in a step's name: ~34 s and 1.7 GB each before, then MemoryError
    "alias-bomb-paths": (BOMB + G.replace(TOOLS, TOOLS + "      - *a8\n"), "more than 100000 values", 6),
    "alias-bomb-step-name": (BOMB + G.replace(VALIDATE, "      - name: *a8\n"), "more than 100000 values", 6),
    "alias-chain-depth": (CHAIN + G.replace(TOOLS, TOOLS + "      - *c199\n"), "deeper than 64", 64),
    # RecursionError inside PyYAML's composer (and copy.deepcopy) before
    "deep-flow": (G + "x-deep: " + "[" * 3000 + "]" * 3000 + "\n", "deeper than 64", 23),
    "deep-block": (G + "x-deep:\n" + "".join(" " * i + "-\n" for i in range(1, 600)), "deeper than 64", 87),
    # GitHub starts no run for a workflow file over 500 KB
    "over-500-kb": (G.replace("jobs:\n", "env:\n  PAD: '" + "x" * 512_000 + "'\njobs:\n", 1), "500 KB", 1),
}


def _shape(old: str, new: str) -> str:
    assert old in G
    return G.replace(old, new, 1)


# workflows whose filter GitHub refuses (its schema: a list of strings; never both a filter and its -ignore)
BAD_FILTERS = {
    "branches-int": (_shape("branches: [main]", "branches: 5"), "push.branches is not a list"),
    "branches-string": (_shape("branches: [main]", "branches: main"), "push.branches is not a list"),
    "paths-mapping": (_shape(PATHS, '    paths: {"backend/lambda/coordination_api/**": 1, '
                                    '"tools/enceladus-mcp-server/**": 1}\n'), "push.paths is not a list"),
    "paths-and-paths-ignore": (_shape(PATHS, "    paths-ignore: [docs/**]\n" + PATHS),
                               "both push.paths and push.paths-ignore"),
    "branches-and-branches-ignore": (_shape("branches: [main]", "branches: [main]\n    branches-ignore: [x]"),
                                     "both push.branches and push.branches-ignore"),
    # YAML 1.1 reads `yes:`/`On:` as True, which the trigger lookup took for a bare `on:`; GitHub reads text
    "yes-for-on": (_shape("on:\n", "yes:\n"), "no push trigger"),
    "On-for-on": (_shape("on:\n", "On:\n"), "no push trigger"),
}

# validation steps a YAML 1.1 reading judged asserting, which GitHub runs otherwise
VALIDATION_LIES = {
    # `off` is text to GitHub, not false: the step may continue on error
    "continue-on-error-off": (_shape(VALIDATE, VALIDATE + "        continue-on-error: off\n"), "continue-on-error"),
    # STRICT is the text "on" for GitHub, so the step exits 0 before asserting anything
    "env-on-is-text": (_shape("jobs:\n", "env:\n  STRICT: on\njobs:\n").replace(
        "        run: |\n          aws lambda wait",
        "        run: |\n          if [ \"$STRICT\" != true ]; then exit 0; fi\n          aws lambda wait", 1), ""),
    "defaults-not-a-mapping": (_shape("jobs:\n", "defaults: bash\njobs:\n"), "defaults"),
}

# texts GitHub accepts and reads like GOOD_WORKFLOW: both checks pass
ACCEPTED = {
    "anchor-reused": _shape(PATHS, PATHS.replace("    paths:\n", "    paths: &p\n")).replace(
        "  workflow_dispatch:\n", "  pull_request:\n    paths: *p\n  workflow_dispatch:\n", 1),
    "equals-sign-value": _shape("jobs:\n", "env:\n  SEP: =\njobs:\n"),  # the YAML 1.1 `=` value tag; text in 1.2
    "yaml-1-1-numbers": _shape("jobs:\n", "env:\n  MODE: 010\n  T: 1:30\n  N: 1_000\n  D: 2026-02-30\njobs:\n"),
    "quoted-on": _shape("on:\n", "'on':\n"),
    "byte-order-mark": "\ufeff" + G,
    "just-under-500-kb": _shape("jobs:\n", "env:\n  PAD: '" + "x" * 500_000 + "'\njobs:\n"),
    "same-key-in-two-mappings": _shape("jobs:\n", "env:\n  A: {x: 1}\n  B: {x: 1}\njobs:\n"),
}

# bash runs 200 nested `if`s; the shell parser recursed past Python's limit ("internal error in check")
WAIT = "          aws lambda wait function-updated-v2 --function-name devops-coordination-api\n"
NESTED_IF = _shape(WAIT, "          " + "".join(f'if [ -n "$X{i}" ]; then ' for i in range(200)) + "echo; "
                   + "fi; " * 200 + "\n" + WAIT)

ALL = {"nested-if": NESTED_IF, **{k: v[0] for k, v in REFUSED.items()}, **{k: v[0] for k, v in BAD_FILTERS.items()},
       **{k: v[0] for k, v in VALIDATION_LIES.items()}, **ACCEPTED}


def _path(name: str) -> str:
    return f".github/workflows/{name}.yml"


@pytest.fixture(scope="module")
def snap(tmp_path_factory):
    r = GitRepo(tmp_path_factory.mktemp("probe7") / "r").init()
    files = {_path(k): v for k, v in ALL.items()}
    files.update({SCRIPT: DEPLOY_SH, "README.md": "x\n", "backend/lambda/coordination_api/app.py": "1\n"})
    r.commit("everything ENC-TSK-1", files, author_date="2026-02-22T00:00:00Z")
    r.commit("scope change ENC-TSK-2", {"tools/enceladus-mcp-server/server.py": "1\n"},
             author_date="2026-02-23T00:00:00Z")
    return snapshot(r.path, files=sorted(files))


def _judge(snap, kind: str, name: str):
    [found] = judge(snap, kind, {"workflow": _path(name)})
    assert "internal error" not in found.message, found.message
    return found


def test_the_texts_are_stored_as_written(snap):
    """Git and the snapshot keep the hostile characters (a BOM, U+2028, NEL) the cases depend on."""
    blobs = snap["sources"]["git"]["data"]
    text = repr(blobs)
    assert "\\u2028" in text and "\\x85" in text and "\\ufeff" in text


@pytest.mark.parametrize("name", sorted(REFUSED))
@pytest.mark.parametrize("kind", KINDS)
def test_a_workflow_github_refuses_or_reads_otherwise_fails_naming_why_and_where(snap, kind, name):
    _text, why, line = REFUSED[name]
    found = _judge(snap, kind, name)
    assert found.status == "fail", found.message
    assert why in found.message, found.message
    assert found.location == {"path": _path(name), "line": line}


@pytest.mark.parametrize("name", sorted(BAD_FILTERS))
def test_a_push_filter_github_refuses_fails(snap, name):
    _text, why = BAD_FILTERS[name]
    found = _judge(snap, "workflow_push_filter", name)
    assert found.status == "fail", found.message
    assert why in found.message, found.message


@pytest.mark.parametrize("name", sorted(VALIDATION_LIES))
def test_a_validation_step_read_with_yaml_1_1_values_does_not_pass(snap, name):
    _text, why = VALIDATION_LIES[name]
    found = _judge(snap, "workflow_validation_asserts", name)
    assert found.status == "fail", found.message
    assert why in found.message, found.message


@pytest.mark.parametrize("name", sorted(ACCEPTED))
@pytest.mark.parametrize("kind", KINDS)
def test_a_workflow_github_accepts_as_the_good_one_passes(snap, kind, name):
    found = _judge(snap, kind, name)
    assert found.status == "pass", found.message


def test_a_deeply_nested_validation_script_is_judged_without_an_internal_error(snap):
    """200 nested ``if``s exhausted the shell parser's recursion ("internal error in check"); the parser now
    reads at most ``MAX_NESTING`` levels and says so: the validation is not proven, a fail."""
    found = _judge(snap, "workflow_validation_asserts", "nested-if")
    assert found.status == "fail" and "nest deeper than" in found.message, found.message
