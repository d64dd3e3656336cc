"""The target configuration (``compliance.yaml``): what is governed and where evidence comes from.

Paths in the file are relative to the file itself, so a config checked into one repository
keeps working from any working directory (CI, a laptop, the demo). Secrets never belong in
it: a config is committed and copied into reports, so credentials come from the environment.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field, replace
from typing import Any

from compliance.base.errors import InputError, Located
from compliance.base.redact import redact
from compliance.inputs import builtin
from compliance.inputs.schema_messages import validate
from compliance.inputs.yamlpos import Positions, load_yaml
from compliance.sources.registry import NAMES as SOURCE_NAMES

_SECRET_KEY = re.compile(
    r"token|secret|passw(or)?d|passphrase|credential|private[_-]?key|access[_-]?key|(^|[_-])(api[_-]?)?key$",
    re.IGNORECASE,
)

_TEXT = {"type": "string", "minLength": 1}
# a path inside the governed repository's tree: relative, no `.`/`..` or empty segment (git cat-file reads
# `<commit>:<path>`; `../x` failed the whole git source, and `a/../b` names a file the tree cannot hold)
_REPO_PATH = {"type": "string", "minLength": 1, "pattern": r"^(?!/)(?!.*//)(?!(?:.*/)?\.\.?(?:/|$))(?!.*/$)[^\\]+$(?!\n)",
              "patternHint": "a path in the repository's tree (relative, with / and no '.', '..' or empty part)"}
# scheme://user[:password]@host: a URL that carries credentials (the part before '@' in its authority)
_URL_USERINFO = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#@]*@")
# What a report folder holds besides the per-target folders (``<out>/<target>/``): a target named like
# one of these would make its folder collide with the merged report's file (or the demo's "previous").
_RESERVED_NAME = re.compile(r"^(report\..*|snapshot\.json|waivers\.yaml|previous|deploy-.*\.log)$", re.IGNORECASE)
_SOURCE_OPTIONS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "file": {**_TEXT, "description": "read this source's data from a JSON file instead of the live system"},
        "enabled": {"type": "boolean", "description": "false: do not collect this source"},
        "timeout_seconds": {"type": "number", "exclusiveMinimum": 0},
        "max_pages": {"type": "integer", "minimum": 1},
        "endpoint_url": {**_TEXT, "description": "alternative API endpoint (e.g. a local AWS emulator)"},
        "profile": {**_TEXT, "description": "AWS profile name (credentials stay in the environment)"},
    },
}

_TARGET: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["branch"],
    "properties": {
        "name": _TEXT,
        "repo": _TEXT,
        "github_repo": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$(?!\n)"},
        "branch": _TEXT,
        "workflow": _REPO_PATH,
        "deploy_script": _REPO_PATH,
        "runbook": {**_REPO_PATH, "description": "the runbook's path in the governed repository (read as of the "
                                            "window's end by the runbook source; runbook_sync compares it with the rules)"},
        "runbook_url": {"type": "string", "pattern": r"^https?://",
                        "description": "where reports link the runbook (e.g. its page on GitHub)"},
        "region": _TEXT,
        "function": _TEXT,
        "http_api": _TEXT,
        "capability_url": {"type": "string", "pattern": r"^https?://"},
        "task_id_pattern": {"type": ["string", "null"]},
        "tracker": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"table": _TEXT, "project": _TEXT},
        },
        "deploy_manager": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"table": _TEXT, "project": {
                **_TEXT, "description": "partition key value; without it the window is read by a Scan"}},
        },
        "cloudtrail": {
            "type": "object",
            "additionalProperties": False,
            "description": "where the Lambda's CloudTrail events are read: the trail bucket and/or LookupEvents",
            "properties": {
                "bucket": {**_TEXT, "description": "the trail's S3 bucket (AWSLogs/<account>/CloudTrail/<region>/)"},
                "prefix": {**_TEXT, "description": "the trail's key prefix in the bucket, if it has one"},
                "account": {"type": "string", "pattern": r"^[0-9]{12}$(?!\n)"},
                "lookup": {"type": "boolean", "description": "also read LookupEvents (last 90 days)"},
            },
        },
        "principals": {
            "type": "object",
            "additionalProperties": False,
            "description": "who may update the function (deploy_principal): role ARNs, arn:aws:iam::<account>:role/...",
            "properties": {
                "workflow_role": {**_TEXT, "description": "the canonical workflow's OIDC deploy role"},
                "operator_roles": {"type": "array", "items": _TEXT,
                                   "description": "roles of the operators allowed to run the deploy script"},
                "deploy_manager": {"type": "array", "items": _TEXT,
                                   "description": "the UI deployment manager's roles (CodeBuild project role, "
                                                  "orchestrator Lambda role): never allowed"},
            },
        },
    },
}
# A target's name becomes a report folder, an artifact name and a matrix value: keep it to safe characters.
_TARGET_NAME = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$(?!\n)",
                "description": "letters, digits, '.', '_' and '-' (it names the target's report folder)"}

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "compliance.yaml",
    "type": "object",
    "additionalProperties": False,
    "required": ["version"],  # and one of target / targets, checked below
    "properties": {
        "version": {"enum": [1]},
        "target": _TARGET,
        "targets": {
            "description": "several governed targets, each like `target` plus a unique `name`",
            "type": "array",
            "minItems": 1,
            "items": {**_TARGET, "required": ["name", "branch"],
                      "properties": {**_TARGET["properties"], "name": _TARGET_NAME}},
        },
        "policies": {"type": "array", "items": _TEXT, "minItems": 1,
                     "description": "rule files or folders (relative to this file), or builtin:NAME for a rule "
                                    "set shipped with the checker; default: the built-in rules"},
        "reports_dir": _TEXT,
        "sources": {
            "type": "object",
            "additionalProperties": False,
            "properties": {name: _SOURCE_OPTIONS for name in SOURCE_NAMES},
        },
    },
}


@dataclass
class Config:
    """Everything path-like is already absolute, so later stages never guess a base folder."""

    path: str
    target: dict[str, Any]
    policies: list[str]  # resolved against the config file's folder; builtin:NAME kept as it is
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    reports_dir: str = "reports"
    # every target, in file order; a `target:` file has exactly one. With several, `target` is
    # empty so a command that handles one target cannot silently pick the first (see for_target).
    targets: list[dict[str, Any]] = field(default_factory=list)

    @property
    def base_dir(self) -> str:
        return os.path.dirname(os.path.abspath(self.path))

    @property
    def target_names(self) -> list[str]:
        return [target_name(t) for t in (self.targets or [self.target])]

    def for_target(self, name: str) -> Config:
        """The same config narrowed to one target, which every single-target stage (collect) expects."""
        for t in self.targets or [self.target]:
            if target_name(t) == name:
                return replace(self, target=dict(t), targets=[dict(t)])
        raise KeyError(name)

    def source_options(self, name: str) -> dict[str, Any]:
        return dict(self.sources.get(name, {}))


DEFAULT_TARGET_NAME = "default"


def target_name(target: dict[str, Any]) -> str:
    """An unnamed single target still needs a name to be selected by (``--target default``)."""
    return str(target.get("name") or DEFAULT_TARGET_NAME)


def _resolve(base: str, value: str) -> str:
    return os.path.normpath(os.path.join(base, os.path.expanduser(value)))


def _secret_problems(data: Any, pos: Positions, path: str) -> tuple[list[Located], set[tuple[int, int]]]:
    """Secret-looking keys or values under target/sources; also the key positions they cover."""
    problems: list[Located] = []
    keys: set[tuple[int, int]] = set()

    def walk(node: Any, jpath: tuple[Any, ...]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                here = (*jpath, k)
                if _SECRET_KEY.search(k):
                    line, col = pos.key(here)
                    keys.add((line, col))
                    env = re.sub(r"[^A-Z0-9]+", "_", k.upper()).strip("_")
                    problems.append(Located(path, line, col,
                                            f"{k!r} looks like a secret; secrets must not be in the config file, "
                                            f"set them in the environment instead (e.g. {env})"))
                else:
                    walk(v, here)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*jpath, i))
        elif isinstance(node, str) and _URL_USERINFO.match(node):
            line, col = pos.value(jpath)
            problems.append(Located(path, line, col,
                                    "this URL carries a user name or password before '@'; the config is committed "
                                    "and every URL in it is printed in reports, so credentials must not be in it: "
                                    "drop the 'user:password@' part (credentials come from the environment)"))
        elif isinstance(node, str) and redact(node) != node:
            line, col = pos.value(jpath)
            problems.append(Located(path, line, col,
                                    "this value looks like a token or access key; secrets must not be in the "
                                    "config file, set them in the environment instead"))

    if isinstance(data, dict):
        for section in ("target", "targets", "sources"):
            walk(data.get(section), (section,))
    return problems, keys


def load_config(path: str) -> Config:
    """Read and validate ``compliance.yaml``; raise ``InputError`` with every problem found."""
    try:
        data, pos = load_yaml(path)
    except InputError as exc:
        raise InputError(exc.problems, what="config") from None
    secrets, secret_keys = _secret_problems(data, pos, path)
    # a secret-looking key is also unknown; say the more useful thing once
    problems = [p for p in validate(data, pos, CONFIG_SCHEMA, path) if (p.line, p.col) not in secret_keys]
    problems += secrets
    problems += _target_problems(data, pos, path)
    problems += _policies_problems(data, pos, path)
    if problems:
        raise InputError(problems, what="config")

    base = os.path.dirname(os.path.abspath(path))
    targets = []
    for raw in data["targets"] if "targets" in data else [data["target"]]:
        target = dict(raw)
        if "repo" in target:
            target["repo"] = _resolve(base, target["repo"])
        targets.append(target)
    sources = {}
    for name, options in (data.get("sources") or {}).items():
        options = dict(options)
        if "file" in options:
            options["file"] = _resolve(base, options["file"])
        sources[name] = options
    return Config(
        path=path,
        target=dict(targets[0]) if len(targets) == 1 else {},
        targets=targets,
        policies=_policies(data, base, path),
        sources=sources,
        reports_dir=_resolve(base, data.get("reports_dir", "reports")),
    )


def _policies(data: dict[str, Any], base: str, path: str) -> list[str]:
    """The rules to judge with: as named, or the built-ins when the file names none (and it says so,
    on stderr, as every command prints notes)."""
    if "policies" not in data:
        local = os.path.join(base, "policies")
        print(builtin.defaulted_note(f"{path} names no policies", local, "policies: [policies/]"),
              file=sys.stderr)
        return list(builtin.DEFAULT_POLICIES)
    return [p if builtin.is_builtin(p) else _resolve(base, p) for p in data["policies"]]


def _policies_problems(data: Any, pos: Positions, path: str) -> list[Located]:
    """A misspelt ``builtin:`` name is located here, like every other config problem."""
    if not isinstance(data, dict) or not isinstance(data.get("policies"), list):
        return []
    problems = []
    for i, value in enumerate(data["policies"]):
        why = builtin.unknown_builtin(value) if isinstance(value, str) else None
        if why:
            line, col = pos.value(("policies", i))
            problems.append(Located(path, line, col, why))
    return problems


def _target_problems(data: Any, pos: Positions, path: str) -> list[Located]:
    """What the schema cannot say with a useful location: target vs targets, unique names, regexes."""
    if not isinstance(data, dict):
        return []
    problems: list[Located] = []
    if "target" in data and "targets" in data:
        line, col = pos.key(("targets",))
        problems.append(Located(path, line, col, "'target' and 'targets' together: use 'target' for one target "
                                                 "or 'targets' (each with a name) for several, not both"))
    elif "target" not in data and "targets" not in data:
        line, col = pos.value(())
        problems.append(Located(path, line, col, "missing required key 'target' (or 'targets' for several)"))
    located: list[tuple[tuple[Any, ...], Any]] = []
    if isinstance(data.get("target"), dict):
        located.append((("target",), data["target"]))
    if isinstance(data.get("targets"), list):
        located += [(("targets", i), t) for i, t in enumerate(data["targets"]) if isinstance(t, dict)]
    first_seen: dict[str, int] = {}
    for where, target in located:
        name = target.get("name")
        if isinstance(name, str) and _RESERVED_NAME.match(name):
            line, col = pos.value((*where, "name"))
            problems.append(Located(path, line, col, f"target name {name!r} is the name of a file the report folder "
                                                     f"holds (report.*, snapshot.json, waivers.yaml, previous, deploy "
                                                     f"logs): its folder <out>/{name}/ would collide with it; "
                                                     f"choose another name"))
        if where[0] == "targets" and isinstance(name, str):
            line, col = pos.value((*where, "name"))
            if name in first_seen:
                problems.append(Located(path, line, col, f"duplicate target name {name!r} (first used on line "
                                                         f"{first_seen[name]}); target names must be unique"))
            else:
                first_seen[name] = line
        pattern = target.get("task_id_pattern")
        if isinstance(pattern, str):
            try:
                re.compile(pattern)
            except re.error as exc:
                line, col = pos.value((*where, "task_id_pattern"))
                problems.append(Located(path, line, col, f"invalid regular expression {pattern!r}: {exc.msg}"))
    return problems
