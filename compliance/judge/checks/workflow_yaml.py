"""A workflow's YAML read the way GitHub reads it, or refused where GitHub would refuse it or we cannot tell.

In pull-request mode the workflow text is the pull request's, so it is hostile input. PyYAML's safe loader
reads YAML 1.1, GitHub a YAML 1.2 parser, and the differences are ways to make a check pass on a workflow
GitHub runs differently or not at all:

- YAML 1.1 booleans: ``yes:``/``On:`` keys read as ``True`` (taken for ``on:``), ``continue-on-error: off``
  read as false, ``STRICT: on`` in ``env`` read as ``true``; to GitHub all of these are text. Sexagesimal
  ``1:30``, octal ``010``, ``1_000``, timestamps and the ``=`` value key are 1.1 too. Only YAML 1.2's core
  schema is resolved here.
- Duplicate keys: PyYAML keeps the last, GitHub refuses the file; the merge key ``<<``: PyYAML merges,
  GitHub does not support it. Both are refused, naming the line.
- NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR are line breaks to YAML 1.1 and text to YAML 1.2: a comment
  ending in U+2028 hides (from GitHub) a line PyYAML reads. A text holding one is refused: the readers disagree.
- Size: GitHub starts no run for a workflow file over 500 KB (512,000 bytes, docs "Actions limits"); aliases
  can still expand a small text exponentially ("billion laughs"), nesting can exhaust Python's recursion, and
  an alias can refer to its own anchor. The expanded document is bounded in nodes and depth while it is
  composed, before anything walks it, so a hostile text costs milliseconds and is refused, never a pass.
"""

from __future__ import annotations

import functools
import re
from typing import Any

MAX_BYTES = 512_000  # GitHub: "each workflow file must be 500 KB or smaller to trigger a run"
MAX_NODES = 100_000  # expanded (aliases counted at their full size); a real deploy workflow has a few hundred
MAX_DEPTH = 64  # expanded nesting; a real workflow nests about ten deep

_BREAKS_1_1 = re.compile("[\x85\u2028\u2029]")
_CORE = "tag:yaml.org,2002:"
_RESOLVERS = (  # YAML 1.2 core schema (10.3.2), the only implicit types
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    ("float", r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
              r"|\.(?:nan|NaN|NAN))$", "-+.0123456789"),
)


def _refuse(problem: str, mark: Any) -> Exception:
    """A refusal of ours (not PyYAML's), said as such: ``load`` words it without "not valid YAML"."""
    import yaml

    exc = yaml.MarkedYAMLError(problem=problem, problem_mark=mark)
    exc.refused = True  # type: ignore[attr-defined]
    return exc


def _line_of_offset(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


@functools.cache
def _loader() -> Any:
    import yaml

    class WorkflowLoader(yaml.SafeLoader):
        """Composes with bounds (nodes, depth, no self-reference); constructs the 1.2 core schema; refuses
        duplicate and merge keys."""

        yaml_implicit_resolvers: dict = {}

        def __init__(self, stream):
            super().__init__(stream)
            self._depth = 0
            self._sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded values, expanded depth)

        def compose_node(self, parent, index):
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent):
                node = super().compose_node(parent, index)
                if id(node) not in self._sizes:  # its anchor is still being composed: it holds itself
                    raise _refuse(f"the alias *{event.anchor} refers to a node that holds it (a recursive "
                                  "structure)", event.start_mark)
                return node
            self._depth += 1
            try:
                if self._depth > MAX_DEPTH:
                    raise _refuse(f"the workflow nests deeper than {MAX_DEPTH} levels", event.start_mark)
                node = super().compose_node(parent, index)
            finally:
                self._depth -= 1
            # bottom-up: an alias child weighs what its anchor expands to, so the root's size is the document's
            children = node.value if isinstance(node, yaml.SequenceNode) else \
                [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else ()
            size = 1 + sum(self._sizes[id(c)][0] for c in children)
            depth = 1 + max((self._sizes[id(c)][1] for c in children), default=0)
            if size > MAX_NODES:
                raise _refuse(f"the workflow expands (through its aliases) to more than {MAX_NODES} values",
                              event.start_mark)
            if depth > MAX_DEPTH:
                raise _refuse(f"the workflow nests (through its aliases) deeper than {MAX_DEPTH} levels",
                              event.start_mark)
            self._sizes[id(node)] = (size, depth)
            return node

        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                seen: dict[Any, int] = {}
                for key_node, _value in node.value:
                    if key_node.tag == _CORE + "merge" or (key_node.tag == _CORE + "str"
                                                           and key_node.value == "<<" and key_node.style is None):
                        raise _refuse("GitHub does not support the YAML merge key <<", key_node.start_mark)
                    key = self.construct_object(key_node, deep=True)
                    try:
                        hash(key)
                    except TypeError:
                        continue  # an unhashable key: the base constructor refuses it
                    if key in seen:
                        raise _refuse(f"the key {key!r} is defined twice (first on line {seen[key]}); GitHub "
                                      "refuses a workflow with a duplicate key", key_node.start_mark)
                    seen[key] = key_node.start_mark.line + 1
            return super().construct_mapping(node, deep=deep)

        def construct_yaml_int(self, node):
            value = self.construct_scalar(node)
            if value.startswith("0o"):
                return int(value[2:], 8)
            if value.startswith("0x"):
                return int(value[2:], 16)
            return int(value, 10)

        def construct_yaml_bool(self, node):
            value = self.construct_scalar(node)
            if value.lower() not in ("true", "false"):
                raise _refuse(f"{value!r} is not a YAML 1.2 boolean", node.start_mark)
            return value.lower() == "true"

    for name, rx, first in _RESOLVERS:
        WorkflowLoader.add_implicit_resolver(_CORE + name, re.compile(rx), list(first))
    WorkflowLoader.add_constructor(_CORE + "int", WorkflowLoader.construct_yaml_int)
    WorkflowLoader.add_constructor(_CORE + "bool", WorkflowLoader.construct_yaml_bool)
    return WorkflowLoader


def load(text: str) -> tuple[Any, str | None, int]:
    """``(doc, problem, line)``: the workflow as GitHub reads it, or why it is refused and on which line."""
    import yaml

    size = len(text.encode("utf-8", "replace"))
    if size > MAX_BYTES:
        return None, f"the workflow is {size} bytes; GitHub runs no workflow file over 500 KB ({MAX_BYTES} bytes)", 1
    odd = _BREAKS_1_1.search(text)
    if odd:
        return None, (f"the workflow holds U+{ord(odd.group()):04X}, a line break to YAML 1.1 readers and text to "
                      "YAML 1.2 ones (GitHub's): its structure depends on the reader"), _line_of_offset(text, odd.start())
    try:
        doc = yaml.load(text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if getattr(exc, "refused", False):
            return None, f"the workflow is refused: {exc.problem} (line {mark.line + 1})", mark.line + 1
        return None, f"the workflow is not valid YAML: {exc}", (mark.line + 1) if mark else 1
    except (ValueError, OverflowError) as exc:  # a tagged value YAML cannot build (``!!timestamp 2026-02-30``)
        return None, f"the workflow is not valid YAML: a value cannot be read ({exc})", 1
    if not isinstance(doc, dict):
        return None, "the workflow is not a YAML mapping", 1
    return doc, None, 1
