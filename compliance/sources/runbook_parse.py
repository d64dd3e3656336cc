"""The runbook's Markdown read as a document: sections, the Scope list, the automation and the
validation requirements, each with the line it is on.

The runbook is the governance the rules claim to enforce, so drift between them is only
trustworthy if the runbook is read the way a person reads it. A real CommonMark parser
(markdown-it-py) decides what is a heading, a list item, a code span or a code block; nothing
here searches the raw text. That is what keeps a path in a fenced code block, in a blockquote or
in a paragraph of another section from being taken for a Scope entry, and a ``### Scope``
sub-heading from being taken for the Scope section.

The result is plain data (the runbook source's ``document``); what is ambiguous or missing is a
``problem`` with its line, never guessed.
"""

from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from compliance.model.runbook import AUTOMATION_SUFFIX, CANONICAL, SCOPE, SECTION_LEVEL, VALIDATION, norm

LISTS = ("bullet_list", "ordered_list")

_MD = MarkdownIt("commonmark")


def _line(node: SyntaxTreeNode) -> int:
    return node.map[0] + 1 if node.map else 0


def _inline(node: SyntaxTreeNode) -> SyntaxTreeNode | None:
    """The inline content of a heading, paragraph or a list item's first paragraph."""
    if node.type == "inline":
        return node
    for child in node.children:
        if child.type == "inline":
            return child
        if child.type == "paragraph":
            return _inline(child)
    return None


def _walk_inline(node: SyntaxTreeNode | None) -> list[SyntaxTreeNode]:
    out: list[SyntaxTreeNode] = []
    if node is None:
        return out
    for child in node.children:
        out.append(child)
        out.extend(_walk_inline(child))
    return out


def plain(node: SyntaxTreeNode | None) -> str:
    """The text of inline content as read (code spans by their content, emphasis marks dropped)."""
    parts = []
    for child in _walk_inline(node):
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return " ".join("".join(parts).split())


def codes(node: SyntaxTreeNode | None) -> list[str]:
    """The code spans of inline content, in order: where the runbook names paths and values."""
    return [c.content.strip() for c in _walk_inline(node) if c.type == "code_inline"]


def _items(nodes: list[SyntaxTreeNode]) -> list[SyntaxTreeNode]:
    """List items of the lists that sit directly in a section (not nested ones)."""
    return [item for n in nodes if n.type in LISTS for item in n.children if item.type == "list_item"]


def _nested_items(item: SyntaxTreeNode) -> list[SyntaxTreeNode]:
    return _items([c for c in item.children if c.type in LISTS])


def _sections(root: SyntaxTreeNode) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], list[SyntaxTreeNode]]]]:
    """Every heading (any level, anywhere at the top), and the top-level `##` sections with their blocks."""
    headings: list[dict[str, Any]] = []
    sections: list[tuple[dict[str, Any], list[SyntaxTreeNode]]] = []
    current: list[SyntaxTreeNode] | None = None
    for node in root.children:
        if node.type == "heading":
            level = int(node.tag[1:])
            head = {"text": plain(_inline(node)), "level": level, "line": _line(node)}
            headings.append(head)
            if level <= SECTION_LEVEL:
                current = None
            if level == SECTION_LEVEL:
                current = []
                sections.append((head, current))
                continue
        if current is not None:
            current.append(node)
    return headings, sections


def _leaves(nodes: list[SyntaxTreeNode]) -> list[tuple[SyntaxTreeNode, int]]:
    """The inline and raw-HTML nodes under these nodes, each with its line (inherited from the nearest
    ancestor that has one): what a reader sees rendered as text."""
    out: list[tuple[SyntaxTreeNode, int]] = []

    def visit(node: SyntaxTreeNode, line: int) -> None:
        here = _line(node) or line
        if node.type in ("inline", "html_block"):
            out.append((node, here))
            return
        for child in node.children:
            visit(child, here)

    for n in nodes:
        visit(n, _line(n))
    return out


def _mentions(nodes: list[SyntaxTreeNode]) -> list[dict[str, Any]]:
    """Every code span of a section's prose and lists (code blocks are not prose), with its line."""
    return [{"value": c, "line": here} for node, here in _leaves(nodes) if node.type == "inline" for c in codes(node)]


def _pathlike(span: str) -> bool:
    """A code span a reader takes for a path or glob (``backend/x/**``), not a file named in prose (``server.py``)."""
    return any(ch in span for ch in "/*?[")


def _stray(nodes: list[SyntaxTreeNode], used: set[int]) -> list[tuple[int, str]]:
    """What a reader of the rendered Scope section sees as scope but no entry holds: a path in a nested
    list, a later paragraph of an entry, prose, a blockquote, or raw HTML (rendered, never read here)."""
    out: list[tuple[int, str]] = []
    for node, here in _leaves(nodes):
        if node.type == "inline":
            if id(node) not in used:
                out.extend((here, f"`{c}`") for c in codes(node) if _pathlike(c))
            continue
        raw = node.content.strip()
        if not (raw.startswith("<!--") and raw.endswith("-->")):  # a comment is not rendered
            out.append((here, f"raw HTML {' '.join(raw.split())[:120]!r}"))
    return out


def _scope(head: dict[str, Any], nodes: list[SyntaxTreeNode], problems: list[dict[str, Any]]) -> dict[str, Any]:
    entries = []
    items = _items(nodes)
    used = {id(i) for i in (_inline(item) for item in items) if i is not None}
    for line, what in _stray(nodes, used):
        problems.append({"section": "Scope", "line": line, "message": f"the Scope section shows {what} outside its "
                         "list entries (a nested list, a later paragraph, prose or HTML): a reader takes it for "
                         "scope; make it an entry of its own or move it out of the section"})
    for item in items:
        found = codes(_inline(item))
        if len(found) == 1 and found[0]:
            entries.append({"path": found[0], "line": _line(item)})
        else:
            why = "names no path in backticks" if not found else f"names {len(found)} paths; one entry holds one path"
            problems.append({"section": "Scope", "line": _line(item), "message": f"a Scope entry {why}: "
                             f"{plain(_inline(item))[:120]!r}"})
    if not items:
        problems.append({"section": "Scope", "line": head["line"], "message": "the Scope section lists no paths"})
    return {"line": head["line"], "entries": entries}


def _trigger(item: SyntaxTreeNode) -> dict[str, Any]:
    text = plain(_inline(item))
    words = norm(text).split()
    spans = codes(_inline(item))
    event = "workflow_dispatch" if "workflow_dispatch" in spans or "dispatch" in " ".join(words) else \
        "push" if words[:1] == ["push"] else None
    return {"text": text, "line": _line(item), "event": event,
            "branches": [s for s in spans if s != "workflow_dispatch"] if event == "push" else []}


def _automation(head: dict[str, Any], nodes: list[SyntaxTreeNode], problems: list[dict[str, Any]]) -> dict[str, Any]:
    """One automation section: the workflow it names, the job's script, its triggers, the paths it names."""
    out: dict[str, Any] = {"heading": head["text"], "line": head["line"], "workflow": None, "script": None,
                           "triggers": [], "mentions": _mentions(nodes)}
    for item in _items(nodes):
        inline = _inline(item)
        label, sep, _ = plain(inline).partition(":")
        if not sep:
            continue
        key = {"workflow": "workflow", "job action": "script", "job": "script", "script": "script"}.get(norm(label))
        if norm(label) in ("trigger", "triggers"):
            out["triggers"] += [_trigger(t) for t in _nested_items(item)]
            continue
        if key is None:
            continue
        found = codes(inline)
        if len(found) != 1:
            problems.append({"section": head["text"], "line": _line(item),
                             "message": f"the {label.strip()} item names {len(found)} paths in backticks, not one"})
        elif out[key] is not None:
            problems.append({"section": head["text"], "line": _line(item),
                             "message": f"a second {label.strip()} item (the first is on line {out[key]['line']})"})
        else:
            out[key] = {"path": found[0], "line": _line(item)}
    return out


def _validation(head: dict[str, Any], nodes: list[SyntaxTreeNode], problems: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"line": head["line"], "function": None, "states": None, "route_prefix": None,
                           "capability": None}
    for item in _items(nodes):
        inline = _inline(item)
        spans, text, line = codes(inline), plain(inline), _line(item)
        pairs = [s.split("=", 1) for s in spans if "=" in s]
        if pairs:
            names = [s for s in spans if "=" not in s and not s.startswith("/")]
            if names and out["function"] is None:
                out["function"] = {"value": names[0], "line": line}
            out["states"] = {"values": {k.strip(): v.strip() for k, v in pairs}, "line": line}
        routes = [s for s in spans if s.startswith("/")]
        if routes and out["route_prefix"] is None:
            out["route_prefix"] = {"value": routes[0].rstrip("*"), "line": line}
        if "capabilit" in text.casefold() and out["capability"] is None:
            out["capability"] = {"text": text, "line": line}
    for key, what in (("states", "no `Key=Value` state to confirm"), ("function", "no function name")):
        if out[key] is None:
            problems.append({"section": head["text"], "line": head["line"], "message": f"the section names {what}"})
    return out


def parse_runbook(text: str) -> dict[str, Any]:
    """The runbook's ``document``: headings, Scope, Canonical Automation (and other automation
    sections), Validation Requirements, and the problems that make a part unreadable."""
    # a byte-order mark would make the first line a paragraph, hiding a heading a reader sees
    root = SyntaxTreeNode(_MD.parse(text.removeprefix("\ufeff")))
    headings, sections = _sections(root)
    problems: list[dict[str, Any]] = []
    by_name: dict[str, list[tuple[dict[str, Any], list[SyntaxTreeNode]]]] = {}
    for head, nodes in sections:
        by_name.setdefault(norm(head["text"]), []).append((head, nodes))

    def one(name: str, title: str) -> tuple[dict[str, Any], list[SyntaxTreeNode]] | None:
        found = by_name.get(name) or []
        if len(found) > 1:
            lines = ", ".join(str(h["line"]) for h, _ in found)
            problems.append({"section": title, "line": found[1][0]["line"],
                             "message": f"{len(found)} `## {title}` sections (lines {lines}): which one governs is "
                                        "ambiguous"})
            return None
        if not found:
            other = [h for h in headings if norm(h["text"]) == name]
            hint = f" (line {other[0]['line']} is a level-{other[0]['level']} heading, not a section)" if other else ""
            problems.append({"section": title, "line": 1, "message": f"no `## {title}` section{hint}"})
            return None
        return found[0]

    scope = one(SCOPE, "Scope")
    canonical = one(CANONICAL, "Canonical Automation")
    validation = one(VALIDATION, "Validation Requirements")
    doc: dict[str, Any] = {
        "headings": headings,
        "scope": _scope(*scope, problems) if scope else None,
        "canonical": _automation(*canonical, problems) if canonical else None,
        "automations": [_automation(h, nodes, problems) for h, nodes in sections
                        if norm(h["text"]).endswith(AUTOMATION_SUFFIX) and norm(h["text"]) != CANONICAL],
        "validation": _validation(*validation, problems) if validation else None,
    }
    if doc["canonical"] is not None and doc["canonical"]["workflow"] is None:
        problems.append({"section": "Canonical Automation", "line": doc["canonical"]["line"],
                         "message": "the section names no `Workflow:` item"})
    doc["problems"] = problems
    return doc
