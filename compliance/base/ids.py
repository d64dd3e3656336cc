"""Tracker ids (``ENC-TSK-325``) found in commit subjects, bodies and branch names.

Rules link changes to tracker evidence through these ids, so a missed id turns into a false
"no evidence" failure and a spurious one links a change to the wrong task. The default pattern
therefore accepts every format the governed tracker has issued and nothing that merely looks
close:

- a project prefix of 2-6 letters (not hard-coded, so other projects' ids are found too);
- a type segment: TSK, ISS, FTR, LSN, PLN or GEN;
- a number of 3 base-36 characters (``325``, ``F65``) or 4 digits (``1005``);
- an optional sub-task suffix of 2 base-36 characters (``ENC-TSK-B10-0A``). The suffix must
  contain a digit: branch names such as ``agent/enc-tsk-734-ui`` put words after the id, and
  a two-letter word is far more likely there than a letter-only sub-task number;
- bounded on both sides by a non-alphanumeric character, so ``ABCDEFG-TSK-123`` (prefix too
  long) and ``ENC-TSK-12345`` yield nothing. ``_`` counts as a separator because branch and
  file names use it like ``-``.

Matching ignores case (ASCII only: Unicode case folding would let the Kelvin sign pass for K)
because branch names are lower case; ids are reported upper case so the
same task written two ways is one id.
"""

from __future__ import annotations

import re
from functools import lru_cache

from compliance.base.errors import ComplianceError

DEFAULT_PATTERN = (
    r"(?ia)(?<![0-9a-z])"
    r"(?P<id>[a-z]{2,6}-(?:TSK|ISS|FTR|LSN|PLN|GEN)-(?:[0-9]{4}|[0-9a-z]{3})"
    r"(?:-(?=[0-9a-z]{0,1}[0-9])[0-9a-z]{2})?)"
    r"(?![0-9a-z])"
)


@lru_cache(maxsize=64)
def compile_pattern(pattern: str | None = None) -> re.Pattern[str]:
    """Compile a tracker-id regex once; a bad user-supplied pattern is a config error, not a crash."""
    text = DEFAULT_PATTERN if pattern is None else pattern
    try:
        return re.compile(text)
    except re.error as exc:
        raise ComplianceError(f"invalid task id pattern {text!r}: {exc}") from None


@lru_cache(maxsize=64)
def _matcher(pattern: str | None) -> tuple[re.Pattern[str], bool]:
    rx = compile_pattern(pattern)
    return rx, "id" in rx.groupindex  # groupindex builds a new mapping on every access


def find_task_ids(*texts: str | None, pattern: str | None = None) -> list[str]:
    """Every id in the texts, upper-cased, first appearance first.

    A custom pattern's named group ``id`` (if it has one) is the id, so a pattern may require
    context around the id without that context becoming part of it.
    """
    rx, use_group = _matcher(pattern)
    seen: dict[str, None] = {}
    # one scan over all texts: a newline is a boundary for every pattern, and this runs per commit
    text = "\n".join(t for t in texts if t)
    for m in rx.finditer(text):
        value = m.group("id") if use_group else m.group(0)
        if value:
            seen.setdefault(value.upper(), None)
    return list(seen)
