"""What a deploy claim is about: whether it says something was deployed, by which path, to which target.

Nothing here reads an outcome (``outcome.py`` does); these decide whether a worklog is a claim
about the canonical workflow, about a manual run of the deploy script, or about another function
or region than the target's.
"""

from __future__ import annotations

import re
from functools import lru_cache

from compliance.judge.evidence.scan import NOCASE, ascii_lower

DEFAULT_FUNCTION = "devops-coordination-api"
DEFAULT_VIA = "api-mcp-backend-deploy"

_DEPLOY = re.compile(
    r"(?<![a-z])(?:re)?deployed(?![a-z])|deploy\.sh|api-mcp-backend-deploy|deploy\s+script", NOCASE
)
_NOT_DEPLOYED = re.compile(
    r"(?:n't|(?<![a-z])(?:not|never|to\s+be|will\s+be))\s+(?:yet\s+|been\s+|be\s+)?(?:re)?deployed(?![a-z])",
    NOCASE,
)


def mentions_deploy(text: str) -> bool:
    """The text says something was deployed (or names the deploy script or workflow), not that it was not."""
    # Every _DEPLOY match contains "deploy"; every _NOT_DEPLOYED match "deployed" and
    # one of n't / not / never / to (be) / will (be).
    low = ascii_lower(text)
    if "deploy" not in low:
        return False
    if "deployed" not in low or not any(w in low for w in ("n't", "not", "never", "to", "will")):
        return bool(_DEPLOY.search(text))
    return bool(_DEPLOY.search(_NOT_DEPLOYED.sub(" ", text)))


# --------------------------------------------------------------------- deploy path named

# Which deploy a claim is about. A claim naming the workflow (its file, its name, a run of it)
# is a claim about a run and is checked against the runs; only a claim naming the deploy
# script, and not the workflow, describes the manual path. Nothing here reads an outcome.
_WORKFLOW_WORDS = re.compile(
    r"(?<![a-z0-9])(?:github[\s_-]+actions?|workflow[\s_-]+(?:run|dispatch)|workflow_dispatch"
    r"|workflows?|actions/runs/|ci|pipeline)(?![a-z])",
    NOCASE,
)
# A script mention that says it was not (or not yet) run: "did not run deploy.sh", "deploy.sh
# not run", "will run deploy.sh", "instead of deploy.sh". Judged within one clause.
_CLAUSE = re.compile(r"[^;.\n]+(?:\.(?!\s|$)[^;.\n]*)*", NOCASE)
_NOT_RUN = re.compile(
    r"(?<![a-z])(?:not|never|without|instead|skip(?:ped|s)?|won't|will|todo|to-do|should|need(?:s|ed)?\s+to"
    r"|going\s+to|plan(?:ned|s)?\s+to|pending|later|tomorrow|next|fail(?:ed|s|ure)?\s+to|unable|cannot|can't"
    r"|no|nope|refused|blocked|abort(?:ed)?|edit(?:ed|s)?|updated?|changed?|modif(?:y|ied)|review(?:ed)?|see"
    # a run that deployed nothing, or not to production: "deploy.sh --dry-run", "against staging"
    r"|dry[\s_-]?run|noop|no-op|simulat(?:e|ed|ing|ion)|staging|stage|sandbox|dev|development|preview"
    r"|test(?:ing)?[\s_-]+(?:env(?:ironment)?|account|stack))"
    r"(?![a-z])|n't(?![a-z])",
    NOCASE,
)


# The clause must say the script was run, not only name it ("edited deploy.sh", a link to it).
_RAN = re.compile(
    r"(?<![a-z])(?:run|ran|running|re-?ran|re-?run|execut(?:e|ed|ing)|invok(?:e|ed|ing)|via|using|with|through"
    r"|by\s+hand|manually)(?![a-z])",
    NOCASE,
)


def _script_words(script: str | None) -> tuple[str, ...]:
    name = (script or "deploy.sh").replace("\\", "/").rsplit("/", 1)[-1].lower()
    return tuple(dict.fromkeys([name, "deploy.sh", "deploy script", "deploy-script"]))


def names_workflow(text: str, workflow: str | None = None) -> bool:
    """The text says the deploy went through the canonical workflow (its file or name, a workflow or CI run)."""
    if not isinstance(text, str):
        return False
    low = ascii_lower(text)
    stem = (workflow or DEFAULT_VIA).replace("\\", "/").rsplit("/", 1)[-1].lower()
    stem = stem.rsplit(".", 1)[0] if stem.endswith((".yml", ".yaml")) else stem
    return bool((stem and stem in low) or DEFAULT_VIA in low or _WORKFLOW_WORDS.search(text))


def names_manual_run(text: str, script: str | None = None) -> bool:
    """The text says the deploy script was run, in a clause that does not deny, postpone or only edit it."""
    if not isinstance(text, str):
        return False
    words = _script_words(script)
    for m in _CLAUSE.finditer(text):
        clause = ascii_lower(m.group(0))
        if any(w in clause for w in words) and _RAN.search(clause) and not _NOT_RUN.search(clause):
            return True
    return False


_REGION = re.compile(r"(?<![a-z0-9-])(?:us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov)-[a-z]+-\d(?![a-z0-9])", NOCASE)
# Every _REGION match holds a letter, "-" and a digit ("west-2"), which most worklogs lack ("2026-03-01" has
# no letter before its "-"): searched in the ASCII-lowercased text first, without the look-behind that makes
# ``re`` try _REGION at every position.
_REGION_GATE = re.compile(r"[a-z]-[0-9]")


@lru_cache(maxsize=64)
def _named_function(name: str) -> re.Pattern[str]:
    """The function's name and what is glued to it ("-staging"), in lower-cased text: compiled once per name."""
    return re.compile(re.escape(name) + r"([a-z0-9_-]*)")


@lru_cache(maxsize=64)
def _sibling_function(stem: str) -> re.Pattern[str]:
    """A whole name that begins with the target's first two segments ("devops-coordination-..."), in lower-cased text."""
    return re.compile(r"(?<![a-z0-9_-])" + re.escape(stem) + r"[a-z0-9_-]*")


def names_other_target(text: str, function: str | None = None, region: str | None = None) -> str | None:
    """The other function or region a deploy claim names ("devops-coordination-api-staging",
    "REGION=us-east-1"), or None. A claim about another deploy target is not evidence for this one.

    A sibling is another function too: for the target ``devops-coordination-api-gamma``, a claim naming
    ``devops-coordination-api`` (a name the target's contains) or ``devops-coordination-mcp`` is about that one."""
    if not isinstance(text, str):
        return None
    low = ascii_lower(text)
    name = (function or DEFAULT_FUNCTION).lower()
    for m in _named_function(name).finditer(low):
        if m.group(1).strip("-_"):
            return text[m.start() : m.end()]
    segments = name.split("-")
    if len(segments) >= 2 and (stem := "-".join(segments[:2]) + "-") in low:
        for m in _sibling_function(stem).finditer(low):
            token = m.group(0).rstrip("-_")
            if token == name:
                continue
            # a name the target's begins with counts from three segments ("devops-coordination" is prose)
            if not name.startswith(token) or (name.startswith(token + "-") and token.count("-") >= 2):
                return text[m.start() : m.start() + len(token)]
    if region and _REGION_GATE.search(low):
        for m in _REGION.finditer(text):
            if m.group(0).lower() != region.lower():
                return m.group(0)
    return None
