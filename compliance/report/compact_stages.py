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
import string
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


def needles_of(values: dict[str, str]) -> tuple[str, ...]:
    """What ``template`` could write of a text as its change's value (or must escape: a brace); a text
    holding none of them reads back the same for any change (the repository is every change's alike)."""
    out = ["{", "}"]
    out += [values[n] for n in ("short", "sha", "task") if len(values[n]) >= 3]
    out += [values[n] for n in ("subject", "committed_at") if values[n]]
    if values["pr"]:
        out.append("#" + values["pr"])
    return tuple(out)


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
    """``compact_stage`` once per distinct stage that names nothing of its change but the repository (most
    of them: a run's stages, its Lambda update's), then reused for every change that run covered; and for
    the stages that do name their change (a merge, a worklog of its task), the templates the last stage of
    that name was written with, tried first and taken only when they read back as this stage exactly."""

    def __init__(self, strings: Any, stages: Callable[[Any], int], repo: str, args: bool = True) -> None:
        self.strings, self.stages, self.args = strings, stages, args
        self._shared = {**NO_VALUES, "repo": repo}
        self._plain: dict[tuple, int] = {}
        self._last: dict[tuple, _Guess] = {}

    def __call__(self, stage: dict[str, Any], values: dict[str, str], needles: tuple[str, ...]) -> int:
        """The stage's index in ``stages``; ``needles`` are ``needles_of(values)``, found once per change."""
        joined = "\0".join([v for v in stage.values() if type(v) is str])
        for needle in needles:
            if needle in joined:
                try:
                    return self.stages(self._write(stage, values, needles))
                except TypeError:  # a value that is not hashable (the shape of a guess): the long way
                    return self.stages(compact_stage(stage, values, self.strings, self.args))
        try:
            key = tuple(stage.items())
            hit = self._plain.get(key)
        except TypeError:  # a value that is not hashable: written the long way
            return self.stages(compact_stage(stage, values, self.strings, self.args))
        if hit is None:
            hit = self._plain[key] = self.stages(self._write(stage, self._shared, ()))
        return hit

    def _write(self, stage: dict[str, Any], values: dict[str, str], needles: tuple[str, ...]) -> Any:
        shape = _shape(stage, needles)
        guess = self._last.get(shape)
        if guess is not None:
            row = guess.apply(stage, values)
            if row is not None:
                return row
        row = compact_stage(stage, values, self.strings, self.args)
        guess = _Guess.of(row, stage, self.strings.values)
        if guess is not None:
            if len(self._last) >= _GUESSES:
                self._last.clear()  # shapes that never come back: bounded
            self._last[shape] = guess
        return row


def _shape(stage: dict[str, Any], needles: tuple[str, ...]) -> tuple:
    """Which guess to try: the stage's name, state and label without its change's values and tokens (a
    merge's "PR #5 squash-merged" and "root commit" are two shapes; the label of a worklog, one per outcome).
    Any key would do: a guess is only taken when it reads back exactly."""
    label = stage.get("label")
    if type(label) is str:
        for needle in needles[2:]:  # not the braces
            if needle in label:
                label = label.replace(needle, "\0")
        label = _ARG.sub("", label)
    return (stage.get("stage"), stage.get("state"), label, stage.get("time") is None, stage.get("url") is None)


_GUESSES = 4096  # shapes remembered at most


class _Guess:
    """The templates a stage was written with, to try on the next stage of its shape: its arguments are
    read off the new stage's texts by the templates (one pattern over the texts joined), and the guess is
    taken only when the templates filled in with them and the change's values give back every field exactly
    (one ``str.format`` of the templates joined, compared with the texts joined)."""

    def __init__(self, row: Any, keys: Any, beside: tuple, fields: list[str], nones: list[str], joined: str,
                 pattern: re.Pattern[str] | None, at: list[int], nargs: int) -> None:
        self.row, self.keys, self.beside, self.fields, self.nones = row, keys, beside, fields, nones
        self.joined, self.pattern, self.at, self.nargs = joined, pattern, at, nargs
        self.head = self.tail = ""
        if nargs and isinstance(row, str):  # the key as JSON text: the arguments between what is around them
            parts = json.loads(row)
            n = len(STAGE_FIELDS)
            self.head = json.dumps(parts[:n], separators=(",", ":"))[:-1] + ","
            self.tail = "".join("," + json.dumps(p, sort_keys=True, separators=(",", ":")) for p in parts[n + 1:]) + "]"

    @classmethod
    def of(cls, key: Any, stage: dict[str, Any], strings: list[str]) -> _Guess | None:
        n = len(STAGE_FIELDS)
        row = json.loads(key) if isinstance(key, str) else list(key)
        if not all(isinstance(stage.get(f), str) or stage.get(f) is None for f in STAGE_FIELDS) \
                or any(f not in stage for f in STAGE_FIELDS):
            return None  # a field beside the row or absent: not guessed
        nargs = len(row[n]) if len(row) > n and isinstance(row[n], (list, tuple)) else 0
        fields = [f for f, i in zip(STAGE_FIELDS, row[:n], strict=True) if i is not None]
        nones = [f for f, i in zip(STAGE_FIELDS, row[:n], strict=True) if i is None]
        templates = [strings[i] for i in row[:n] if i is not None]
        if any("\0" in t for t in templates):
            return None
        joined = "\0".join(templates)
        pattern, at = None, []
        if nargs:
            found = _pattern(joined)
            if found is None:
                return None
            pattern, at = found
        beside = tuple((k, v) for k, v in stage.items() if k not in _FIELD_SET)
        return cls(key, stage.keys(), beside, fields, nones, joined, pattern, at, nargs)

    def apply(self, stage: dict[str, Any], values: dict[str, str]) -> Any:
        if stage.keys() != self.keys or (self.beside and tuple(
                (k, v) for k, v in stage.items() if k not in _FIELD_SET) != self.beside):
            return None
        texts = [stage[f] for f in self.fields]
        for f in self.nones:
            if stage[f] is not None:
                return None
        try:
            text = "\0".join(texts)
        except TypeError:  # a field that is not text
            return None
        if text.count("\0") != len(texts) - 1:
            return None  # a text holding the separator: the fields would not be told apart
        args: list[Any] = []
        if self.nargs:
            m = self.pattern.fullmatch(text)  # type: ignore[union-attr]
            if m is None:
                return None
            args = [None] * self.nargs
            for i, tok in zip(self.at, m.groups(), strict=True):
                if args[i] is None:
                    args[i] = int(tok) if tok.isdigit() and tok.isascii() and str(int(tok)) == tok else tok
            if None in args:
                return None
        try:
            if self.joined.format(*args, **values) != text:
                return None
        except (ValueError, KeyError, IndexError):
            return None
        if not self.nargs:
            return self.row
        if self.head:
            return self.head + json.dumps(args, separators=(",", ":")) + self.tail
        return (*self.row[:len(STAGE_FIELDS)], tuple(args), *self.row[len(STAGE_FIELDS) + 1:])


def _pattern(t: str) -> tuple[re.Pattern[str], list[int]] | None:
    """A template as a pattern: its text literally, a change's value as anything, an argument as a group
    (and the argument each group is)."""
    out, at = [], []
    try:
        for lit, name, _, _ in _FORMATTER.parse(t):
            out.append(re.escape(lit))
            if name is not None:
                if name.isdecimal():
                    out.append("(.+?)")
                    at.append(int(name))
                else:
                    out.append(".*?")
    except ValueError:
        return None
    return re.compile("".join(out), re.DOTALL), at


_FORMATTER = string.Formatter()


def stage_rows(keys: list[Any]) -> list[list[Any]]:
    """The ``stages`` table from its keys (a tuple, or JSON text when the stage has an object beside it)."""
    return [json.loads(k) if isinstance(k, str) else [list(v) if isinstance(v, tuple) else v for v in k]
            for k in keys]


__all__ = ["NO_VALUES", "STAGE_FIELDS", "StageWriter", "compact_stage", "needles_of", "stage_rows", "template"]
