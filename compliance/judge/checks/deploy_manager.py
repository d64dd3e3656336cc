"""The runbook forbids routing API/MCP deploys through the UI deployment manager."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from compliance.base.jsonpairs import items_of, loads_all_pairs
from compliance.base.redact import clip
from compliance.base.timeutil import parse_time
from compliance.judge.registry import register
from compliance.model.findings import FAIL, PASS, Finding

UI_TYPES = ["github_public_static", "github_private_sst", "github_public_workers", "github_private_workers"]


_TARGET_KEY = re.compile(r"(?:target|function|lambda|arn|resource)", re.IGNORECASE)


def request_targets(request: dict[str, Any]) -> list[str]:
    """What a request's ``non_ui_config`` (a JSON string in the real table) names, as pieces ``names_function`` reads.

    A config that is JSON: every value under a key that names a target (``target_arn``, ``FunctionName``,
    ``lambda``, ``arn``, ``targets``..., at any depth, both values of a key named twice: parsers keep one),
    split into its words (a comma- or space-separated list), every key or other value that *is* a function
    reference, every value holding a function ARN (an API Gateway integration URI), and JSON held in a value
    (encoded twice). A config that is not JSON (YAML, a Python repr, prose): its words and its ARNs. A URL
    or a note that only mentions the function under another key names nothing (a UI site's API upstream)."""
    cfg = request.get("non_ui_config")
    ui = request.get("deployment_type") in UI_TYPES
    if isinstance(cfg, str):
        decoded = _decoded(cfg)
        if decoded is None:
            named = [w for m in _PRIMARY_TEXT.finditer(cfg) if _target_key(m.group(1)) for w in _words(m.group(2))]
            return named if named or ui else [*_words(cfg), *_ARN_OF.findall(cfg)]
        cfg = decoded
    # a UI site's config names the API it calls (api_function, backend): only the table's own target keys count
    primary = [w for text, under in _config_strings(cfg, _ui_target_key if ui else _target_key) if under
               for w in _words(text)]
    if primary or ui:  # the request's own target: a reference to ours elsewhere (an env var, a policy) is no deploy
        return list(dict.fromkeys(primary))
    out: list[str] = []
    for text, targeted in _config_strings(cfg, _TARGET_KEY.search, keys=True):
        if targeted:
            out += _words(text)
        elif _REFERENCE.fullmatch(text.strip()):
            out.append(text.strip())
        out += _ARN_OF.findall(text)
    return list(dict.fromkeys(out))


# In a config written as text (YAML, key=value), what follows a target-like key
_PRIMARY_TEXT = re.compile(r"(?:^|[\s,;{'\"])(target\w*|\w*function\w*|lambda\w*|\w*arns?)['\"]?\s*[:=]\s*([^\n;]+)",
                           re.IGNORECASE)
# objects whose keys name other things than the request's target: environment variables, policies, tags
_ASIDE = re.compile(r"^(?:env|environment|variables|vars|policy|policies|statements?|permissions?|tags|labels)$",
                    re.IGNORECASE)


_UI_TARGET_KEY = re.compile(r"^(?:target_?arns?|targets?|function_?arns?|function_?names?|lambda(?:_?arns?)?|arns?"
                            r"|resource_?arns?)$", re.IGNORECASE)


def _ui_target_key(key: str) -> bool | None:
    """``_target_key`` for a UI-type request: the keys the table names targets by, not every key that mentions one."""
    return None if _ASIDE.match(key) else bool(_UI_TARGET_KEY.match(key))


def _target_key(key: str) -> bool | None:
    """A key naming the request's own target (``target_arn``, ``FunctionName``, ``lambda``, ``targets``, ``arn``);
    None for an object whose keys name other things (``environment``, ``policy``): nothing under it is one. An
    environment variable's name (``UPSTREAM_FUNCTION``) is none either."""
    if _ASIDE.match(key):
        return None
    return (bool(_TARGET_KEY.search(key)) and not (key.isupper() and "_" in key)
            and not _REFERRING.search(key))


# a key that names what a target refers to, not the target: function_name_upstream, invoked_function, depends_on
_REFERRING = re.compile(r"upstream|downstream|depend|caller|callee|invok|(?<!re)source|notif", re.IGNORECASE)


def _config_strings(cfg: Any, key_test: Any, keys: bool = False) -> Iterator[tuple[str, bool]]:
    """Every string of a decoded config (JSON held in a string read as JSON too), each with whether a key on its
    way passes ``key_test`` (keys written with - or _ alike); with ``keys``, every key as a string of its own."""
    stack: list[tuple[Any, bool]] = [(cfg, False)]
    while stack:
        value, under = stack.pop()
        if isinstance(value, str):
            inner = _decoded(value) if value.strip()[:1] in ("{", "[", '"') else None
            if inner is not None and not isinstance(inner, (int, float, bool)):
                stack.append((inner, under))
            else:
                yield value, under
        elif isinstance(value, dict):
            for k, v in items_of(value):
                if keys:
                    yield str(k), False
                verdict = key_test(str(k).replace("-", "_"))
                if verdict is None and not keys:
                    continue  # an environment or a policy: nothing under it is the target
                stack.append((v, under or bool(verdict)))
        elif isinstance(value, list):
            stack.extend((v, under) for v in value)


def _decoded(text: str) -> Any:
    """``text`` as JSON with every pair kept (None when it is not JSON)."""
    try:
        return loads_all_pairs(text)
    except (ValueError, RecursionError):
        return None


def _words(text: str) -> list[str]:
    """The pieces of a text a function reference can be: split at blanks, quotes, brackets, ``,;=|`` and ``: ``."""
    return [w for w in re.split(r"[\s,;=|'\"{}\[\]()<>]+|:\s", text) if w]


# a whole value that is a function reference: a name (letters, digits, - and _), optionally qualified, or an
# ARN (partial ones too: ``123456789012:function:NAME``)
_REFERENCE = re.compile(r"(?:(?:arn:[\w-]+:lambda:[\w-]*:)?\d*:?function:)?[A-Za-z0-9_-]{1,64}(?::[\w$-]+)?")
_ARN_OF = re.compile(r"(?:arn:[\w-]+:lambda:[\w-]*:)?\d{12}:function:[A-Za-z0-9_-]{1,64}(?::[\w$-]+)?")
_TARGET_KEY = re.compile(r"(?:target|function|lambda|arn|resource)", re.IGNORECASE)


def names_function(text: str, function: str) -> bool:
    """Whether ``text`` is the function: its name, its ARN (or a partial one), or a qualified form (``:live``,
    ``:7``); ``devops-coordination-api-gamma`` is another. Pieces of a config come from ``request_targets``."""
    if not function or not isinstance(text, str):
        return False
    text = text.strip()
    name = function.rsplit(":function:", 1)[-1].split(":")[0]
    if text in (function, name) or text.endswith(f":function:{name}") or f":function:{name}:" in text:
        return True
    return text.split(":", 1)[0] == name and _REFERENCE.fullmatch(text) is not None  # devops-coordination-api:live


def check_no_ui_deploy_request(ctx, rule, params) -> list[Finding]:
    dm = ctx.source("deploy_manager")
    function = ctx.target.get("function", "")
    ui_types = set(params.get("ui_types", UI_TYPES))
    out: list[Finding] = []
    examined = 0
    for req in dm.get("requests", []):
        when = parse_time(req.get("submitted_at"))
        if when and not (ctx.since <= when <= ctx.until):
            continue
        examined += 1
        problems = []
        targets = [t for t in request_targets(req) if function and names_function(t, function)]
        kind = req.get("deployment_type")
        if targets:  # of any type: a UI-type request naming the function is the forbidden flow too
            how = ("a UI-type request" if isinstance(kind, str) and kind in ui_types
                   else "a non-UI request (queued, executed by nobody)")
            problems.append(f"{kind} request targets {clip(targets[0], 200)}: {how} for the function")
        files = [f for f in _paths(req) if not rule.scope.is_empty and _in_scope(rule.scope, f)]
        if files:
            problems.append(f"carries in-scope files ({', '.join(files[:3])})")
        if problems:
            out.append(Finding(rule.id, "request", req["request_id"], FAIL,
                               "deploy-manager request routes the API/MCP runtime through the UI flow: "
                               + "; ".join(problems), [_request_evidence(req)]))
    for spec in dm.get("specs", []):
        arns = [a for a in _strings(spec.get("non_ui_target_arns")) if names_function(a, function)]
        if arns and spec.get("status") in ("queued_non_ui", "pending", "deployed"):
            out.append(Finding(rule.id, "request", spec["spec_id"], FAIL,
                               f"deploy-manager spec is {spec.get('status')} for {arns[0]}: no non-UI executor "
                               "exists, so this is not a runtime deployment",
                               [{"kind": "request", "label": f"{spec['spec_id']} {spec.get('status')}",
                                 "request_ids": spec.get("request_ids", []), "url": None}]))
    if not out:
        out.append(Finding(rule.id, "request", "deploy-manager", PASS,
                           f"{examined} request(s) in the window; none routes the function or in-scope files "
                           "through the UI manager"))
    return out


register(
    "no_ui_deploy_request",
    summary="No deploy-manager request routes in-scope files or the function through the UI manager flow "
    "(non-UI types such as lambda_update targeting the function, or queued_non_ui specs for it).",
    reads=("deploy_manager",),
    subject="request",
    params={
        "properties": {
            "ui_types": {"type": "array", "items": {"type": "string"}, "default": UI_TYPES,
                         "description": "deployment types the UI manager actually executes (a request of any type "
                                        "naming the function fails; this names which kind it was)"},
        },
    },
    example={"kind": "no_ui_deploy_request"},
)(check_no_ui_deploy_request)


def _strings(value: Any) -> list[str]:
    """A row's list field as strings: one string is a list of one; anything else holds none."""
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")


def _paths(req: dict[str, Any]) -> list[str]:
    """Every path a request names: ``files_changed`` and ``changes[]``, as strings or inside objects."""
    out: list[str] = []
    stack: list[Any] = [req.get("files_changed"), req.get("changes")]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return list(dict.fromkeys(out))


def _in_scope(scope: Any, written: str) -> bool:
    """Whether a path as a person typed it into the manager is in scope: ``Backend/...``, ``./backend/...``,
    ``/backend/...``, ``backend//...``, ``backend\\lambda\\...``, ``backend/lambda/../lambda/...``, a blob URL's
    path or a hidden character inside a name all name the same file a deploy would ship (probe 12)."""
    text = _INVISIBLE.sub("", written).strip().replace("\\", "/")
    if "://" in text:  # https://github.com/o/r/blob/main/backend/...: the part after the ref
        parts = text.split("/blob/", 1)[-1].split("/", 1)
        text = parts[1] if len(parts) == 2 else text
    parts: list[str] = []
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    path = "/".join(parts)
    # a folder (``backend/lambda/coordination_api/``, or a last part with no extension) holds files in scope
    folder = text.endswith("/") or "." not in (parts[-1] if parts else "")
    candidates = [path, path.lower()] + ([f"{path}/_", f"{path.lower()}/_"] if folder and path else [])
    return bool(path) and any(scope.matches(c) for c in candidates)


def _request_evidence(req: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "request",
        "label": f"{req['request_id']} {req.get('deployment_type')} {req.get('status')} by "
        f"{req.get('submitted_by', '?')}: {clip(str(req.get('summary', '')), 200)}",
        "request_id": req["request_id"],
        "time": req.get("submitted_at"),
        "url": None,
    }
