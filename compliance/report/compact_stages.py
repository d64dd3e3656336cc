"""A change's chain stages as rows of the ``stages`` table (report.json versions 2 and 3), written fast.

A stage is six strings (``STAGE_FIELDS``), each written as an index into ``strings``: a template of its
change's values (``{sha}``, ``{short}``, ``{pr}``, ``{subject}``, ``{committed_at}``, ``{task}``, ``{repo}``;
``{{``/``}}`` a brace), so the stages of the changes one run covered are one row. In version 2 what is the
run's own (its id and number, its head's short SHA, its times) stayed in the strings: four or five strings
per run no other run shares, a quarter of the file. Version 3 also takes those out as the stage's
**arguments**: a time, a hex or decimal token of the text becomes ``{0}``, ``{1}``, ... and the stage row
carries them in a list after its six fields (``[..6 fields.., [args], {extra}]``), so ``run {0} #{1} (push,
success) for {2}`` is one string for every run. As for the change's values, a token becomes an argument
only when filling the templates in gives back every field exactly; else the stage is written without.

Speed: at 100,000 commits there are 170,000 stages, most a run's, lambda update's or worklog's that name
nothing of their change. ``StageWriter`` looks for the change's values once in the stage's joined text;
a stage that holds none of them (nor a brace) reads back the same for any change, so it is compacted once
per distinct content and reused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

STAGE_FIELDS = ("stage", "state", "time", "label", "url", "detail")
_WORDS = frozenset({"stage", "state"})  # words of the format: written as they are (braces escaped)
_FIELD_SET = frozenset(STAGE_FIELDS)
_NAMED = ("sha", "short", "repo", "task")
NO_VALUES = dict.fromkeys(("sha", "short", "pr", "subject", "committed_at", "task", "repo"), "")
# a time, a hex token (a SHA, a digest) or a number of three digits or more, not inside a word
_ARG = re.compile(r"(?<![0-9A-Za-z_])(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z|[0-9a-f]{7,64}|\d{3,})"
                  r"(?![0-9A-Za-z_])")


def template(text: str, values: dict[str, str]) -> str:
    """``text`` with the change's own values as placeholders, when that reads back as the same text."""
    for name in ("subject", "committed_at"):
        if values[name] and text == values[name]:
            return "{" + name + "}"
    plain = text.replace("{", "{{").replace("}", "}}") if "{" in text or "}" in text else text
    names = [n for n in _NAMED if len(values[n]) >= 3 and values[n] in text]
    pr = "#" + values["pr"] if values["pr"] else ""
    if not names and not (pr and pr in text):
        return plain
    out = plain
    for name in names:  # the whole SHA first: the short one is its prefix
        out = out.replace(values[name], "{" + name + "}")
    if pr:
        out = out.replace(pr, "#{pr}")
    try:
        return out if out.format_map(values) == text else plain
    except (ValueError, KeyError, IndexError):  # a brace the replacements split: as written
        return plain


def _mentions(text: str, values: dict[str, str]) -> bool:
    """Whether ``template`` could write any of ``text`` as a change's value (or must escape a brace)."""
    if "{" in text or "}" in text:
        return True
    for name in _NAMED:
        v = values[name]
        if len(v) >= 3 and v in text:
            return True
    for name in ("subject", "committed_at"):
        if values[name] and values[name] in text:
            return True
    return bool(values["pr"]) and "#" + values["pr"] in text


def _with_args(texts: list[Any], originals: list[Any], values: dict[str, str]) -> tuple[list[Any], list[Any]]:
    """The templates with the run's own tokens as ``{0}``, ``{1}``, ... and those tokens; or as they were
    (no arguments) when that would not read back as every field."""
    args: list[Any] = []
    seen: dict[str, int] = {}

    def arg(m: re.Match[str]) -> str:
        tok = m.group(0)
        i = seen.get(tok)
        if i is None:
            i = seen[tok] = len(args)
            args.append(int(tok) if tok.isdigit() and str(int(tok)) == tok else tok)
        return "{" + str(i) + "}"

    out = [t if literal or t is None else _ARG.sub(arg, t) for t, literal in texts]
    if not args:
        return [t for t, _ in texts], []
    try:
        if all(o is None or lit or t.format(*args, **values) == o
               for t, (_, lit), o in zip(out, texts, originals, strict=True)):
            return out, args
    except (ValueError, KeyError, IndexError):
        pass
    return [t for t, _ in texts], []


def compact_stage(stage: dict[str, Any], values: dict[str, str], strings: Callable[[str], int],
                  args: bool = True) -> Any:
    """A stage as ``[field, ...]`` in ``STAGE_FIELDS`` order, each string an index into ``strings`` (a
    template), None as None; then its arguments (a list, when it has any) and anything else beside them
    (an object; then the key is JSON text): the key of ``stages``."""
    texts: list[Any] = []
    originals: list[Any] = []
    extra: dict[str, Any] = {}
    for name in STAGE_FIELDS:
        v = stage.get(name)
        if type(v) is str:
            literal = name in _WORDS and "{" not in v and "}" not in v
            texts.append((v if literal else template(v, values), literal))
            originals.append(v)
        else:
            texts.append((None, True))
            originals.append(None)
            if v is not None:  # not a string: as written, beside the row
                extra[name] = v
    written, found = _with_args(texts, originals, values) if args else ([t for t, _ in texts], [])
    row: list[Any] = [None if t is None else strings(t) for t in written]
    if found:
        row.append(tuple(found))
    if extra or stage.keys() != _FIELD_SET:
        extra.update((k, v) for k, v in stage.items() if k not in STAGE_FIELDS)
        absent = [n for n in STAGE_FIELDS if n not in stage]
        if extra or absent:
            # the names it lacks (``absent``), written when there are any: the run stage's ``outcome``
            # is beside every run's row
            row.append({**extra, "absent": absent} if absent or "absent" in extra or not args else extra)
            return json.dumps(row, sort_keys=True, separators=(",", ":"))
    return tuple(row)


class StageWriter:
    """``compact_stage`` once per distinct stage that names nothing of its change (most of them)."""

    def __init__(self, strings: Callable[[str], int], args: bool = True) -> None:
        self.strings, self.args = strings, args
        self._plain: dict[tuple, Any] = {}

    def __call__(self, stage: dict[str, Any], values: dict[str, str]) -> Any:
        if stage.keys() == _FIELD_SET:
            raw = (stage["stage"], stage["state"], stage["time"], stage["label"], stage["url"], stage["detail"])
            if all(v is None or type(v) is str for v in raw):
                hit = self._plain.get(raw)
                if hit is not None and not _mentions("\0".join(v for v in raw if v), values):
                    return hit
                if hit is None and not _mentions("\0".join(v for v in raw if v), values):
                    hit = self._plain[raw] = compact_stage(stage, NO_VALUES, self.strings, self.args)
                    return hit
        return compact_stage(stage, values, self.strings, self.args)


def stage_rows(keys: list[Any]) -> list[list[Any]]:
    """The ``stages`` table from its keys (a tuple, or JSON text when the stage has an object beside it)."""
    return [json.loads(k) if isinstance(k, str) else [list(v) if isinstance(v, tuple) else v for v in k]
            for k in keys]


__all__ = ["NO_VALUES", "STAGE_FIELDS", "StageWriter", "compact_stage", "stage_rows", "template"]
