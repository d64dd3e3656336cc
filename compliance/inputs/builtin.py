"""The rule sets shipped inside the package, named ``builtin:NAME`` wherever a rules path is accepted.

An installed wheel has no ``policies/`` folder next to the user's files, and a checker that looked for
one would run zero rules or refuse to start (issue 17). So the shipped rules and their test cases are
package data under ``compliance/builtin/<name>/`` (rule files, plus ``tests/`` with the cases), found
through ``importlib.resources`` relative to the installed package, never relative to the working
directory. A name resolves to a real folder on disk: every later stage (digests, ``file:line``
messages, ``rules test``'s case folder) works with it exactly as with a user's own folder.
"""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path
from typing import TextIO

from compliance.base.errors import ComplianceError

PREFIX = "builtin:"
DEFAULT_SET = "api-mcp-runbook"
DEFAULT_POLICIES = (PREFIX + DEFAULT_SET,)


def builtin_root() -> Path:
    """The folder holding the built-in sets; a package imported from a zip has no such folder."""
    root = resources.files("compliance").joinpath("builtin")
    if not isinstance(root, Path):
        raise ComplianceError("the built-in rules need the package installed as files, not imported from an archive")
    return root


def builtin_sets() -> list[str]:
    """Names of the built-in rule sets: each folder under ``compliance/builtin/`` holding a rule file."""
    root = builtin_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and any(n.endswith((".yaml", ".yml")) for n in os.listdir(p)))


def is_builtin(path: str) -> bool:
    return path.startswith(PREFIX)


def resolve(path: str) -> str:
    """``builtin:NAME`` as the folder it names; any other path unchanged."""
    if not is_builtin(path):
        return path
    name = path[len(PREFIX):]
    known = builtin_sets()
    if name not in known:
        raise ComplianceError(f"no built-in rule set {name!r} (built-in: "
                              f"{', '.join(PREFIX + n for n in known) or 'none'})")
    return str(builtin_root() / name)


def unknown_builtin(path: str) -> str | None:
    """Why ``path`` names no built-in set (for a located config problem), or None when it is fine."""
    if not is_builtin(path):
        return None
    try:
        resolve(path)
    except ComplianceError as exc:
        return str(exc)
    return None


def defaulted_note(why: str, local: str | None, how: str) -> str:
    """What a run says when nobody named the rules: which rules it judges with, and what it did not read.

    A team with its own ``policies/`` folder and no ``policies:`` key would otherwise be judged by the
    built-in rules without a word; ``local`` is such a folder when one exists, ``how`` says how to name it.
    """
    note = f"note: {why}: judging with the built-in rules ({', '.join(DEFAULT_POLICIES)})"
    if local and os.path.isdir(local):
        note += f"; the folder {local} is not read unless named ({how})"
    return note


def default_policies(how: str, out: TextIO | None = None, local: str = "policies") -> list[str]:
    """The rules a command uses when given none: the built-ins, said on stderr (stdout may be piped).

    ``how`` is the command's own way of naming a folder (``--policies policies``), shown with ``local``.
    """
    print(defaulted_note("no rules named", local, how), file=out or sys.stderr)
    return list(DEFAULT_POLICIES)


__all__ = ["DEFAULT_POLICIES", "DEFAULT_SET", "PREFIX", "builtin_root", "builtin_sets", "default_policies",
           "defaulted_note", "is_builtin", "resolve", "unknown_builtin"]
