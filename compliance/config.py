"""The target configuration (``compliance.yaml``): what is governed and where evidence comes from.

Paths in the file are relative to the file itself, so a config checked into one repository
keeps working from any working directory (CI, a laptop, the demo). Secrets never belong in
it: a config is committed and copied into reports, so credentials come from the environment.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from compliance.errors import InputError, Located
from compliance.redact import redact
from compliance.yamlpos import Positions, load_yaml, validate

SOURCE_NAMES = ("git", "github", "lambda", "apigateway", "tracker", "deploy_manager", "probe")
_SECRET_KEY = re.compile(
    r"token|secret|passw(or)?d|passphrase|credential|private[_-]?key|access[_-]?key|(^|[_-])(api[_-]?)?key$",
    re.IGNORECASE,
)

_TEXT = {"type": "string", "minLength": 1}
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

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "compliance.yaml",
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "target"],
    "properties": {
        "version": {"enum": [1]},
        "target": {
            "type": "object",
            "additionalProperties": False,
            "required": ["branch"],
            "properties": {
                "name": _TEXT,
                "repo": _TEXT,
                "github_repo": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"},
                "branch": _TEXT,
                "workflow": _TEXT,
                "deploy_script": _TEXT,
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
            },
        },
        "policies": {"type": "array", "items": _TEXT, "minItems": 1},
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
    policies: list[str]  # resolved against the config file's folder
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    reports_dir: str = "reports"

    @property
    def base_dir(self) -> str:
        return os.path.dirname(os.path.abspath(self.path))

    def source_options(self, name: str) -> dict[str, Any]:
        return dict(self.sources.get(name, {}))


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
        elif isinstance(node, str) and redact(node) != node:
            line, col = pos.value(jpath)
            problems.append(Located(path, line, col,
                                    "this value looks like a token or access key; secrets must not be in the "
                                    "config file, set them in the environment instead"))

    if isinstance(data, dict):
        for section in ("target", "sources"):
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
    if isinstance(data, dict) and isinstance(data.get("target"), dict):
        pattern = data["target"].get("task_id_pattern")
        if isinstance(pattern, str):
            try:
                re.compile(pattern)
            except re.error as exc:
                line, col = pos.value(("target", "task_id_pattern"))
                problems.append(Located(path, line, col, f"invalid regular expression {pattern!r}: {exc.msg}"))
    if problems:
        raise InputError(problems, what="config")

    base = os.path.dirname(os.path.abspath(path))
    target = dict(data["target"])
    if "repo" in target:
        target["repo"] = _resolve(base, target["repo"])
    sources = {}
    for name, options in (data.get("sources") or {}).items():
        options = dict(options)
        if "file" in options:
            options["file"] = _resolve(base, options["file"])
        sources[name] = options
    return Config(
        path=path,
        target=target,
        policies=[_resolve(base, p) for p in data.get("policies", ["policies"])],
        sources=sources,
        reports_dir=_resolve(base, data.get("reports_dir", "reports")),
    )
