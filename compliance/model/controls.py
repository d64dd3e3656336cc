"""Control frameworks a rule can be mapped to, and the one written form of a control: ``FRAMEWORK:ID``.

Auditors are audited against named controls (SOC 2 CC8.1, ISO/IEC 27001:2022 A.8.32, NIST SP 800-53
CM-3), so a rule says which ones its verdicts are evidence for. A mapping that names a control that
does not exist (``SOC2:CC8.9``, ``ISO27001:2022:A.8.35``) would put evidence under a heading no auditor
looks for, so each framework lists exactly the ids it has, and the pattern the rule-file schema uses is
generated from those lists (``CONTROL_PATTERN``): the schema, the loader's messages and the reports'
ordering cannot disagree about what a control is.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass


def _numbers(last: int) -> str:
    """``1|2|...|last`` as a regex alternation, longest first so ``3`` never shadows ``37``."""
    return "|".join(str(n) for n in sorted(range(1, last + 1), key=lambda n: (-len(str(n)), n)))


@dataclass(frozen=True)
class Framework:
    """One framework: its prefix in a rule file, its name for people, and every id it defines."""

    key: str  # the FRAMEWORK part of FRAMEWORK:ID
    title: str
    id_regex: str  # exactly the framework's ids, no anchors
    forms: str  # the ids in words, for an error message and the reference
    example: str

    def accepts(self, control_id: str) -> bool:
        return re.fullmatch(self.id_regex, control_id) is not None


# SOC 2: the AICPA Trust Services Criteria (2017, points of focus revised 2022), every criterion
_SOC2 = {"CC1": 5, "CC2": 3, "CC3": 4, "CC4": 2, "CC5": 3, "CC6": 8, "CC7": 5, "CC8": 1, "CC9": 2,
         "A1": 3, "C1": 2, "PI1": 5, "P1": 1, "P2": 1, "P3": 2, "P4": 3, "P5": 2, "P6": 7, "P7": 1, "P8": 1}
# ISO/IEC 27001:2022 Annex A: 5 organizational (37), 6 people (8), 7 physical (14), 8 technological (34)
_ISO = {"5": 37, "6": 8, "7": 14, "8": 34}
# NIST SP 800-53 Rev. 5: the twenty families and their base controls; an enhancement is written CM-3(1)
_NIST = {"AC": 25, "AT": 6, "AU": 16, "CA": 9, "CM": 14, "CP": 13, "IA": 13, "IR": 10, "MA": 7, "MP": 8,
         "PE": 23, "PL": 11, "PM": 32, "PS": 9, "PT": 8, "RA": 10, "SA": 23, "SC": 51, "SI": 23, "SR": 12}

FRAMEWORKS: dict[str, Framework] = {f.key: f for f in (
    Framework("SOC2", "SOC 2 (AICPA Trust Services Criteria 2017)",
              "(?:" + "|".join(f"{k}\\.(?:{_numbers(n)})" for k, n in _SOC2.items()) + ")",
              "a criterion CC1.1-CC9.2, A1.1-A1.3, C1.1-C1.2, PI1.1-PI1.5 or P1.1-P8.1", "SOC2:CC8.1"),
    Framework("ISO27001:2022", "ISO/IEC 27001:2022 Annex A",
              "A\\.(?:" + "|".join(f"{k}\\.(?:{_numbers(n)})" for k, n in _ISO.items()) + ")",
              "an Annex A control A.5.1-A.5.37, A.6.1-A.6.8, A.7.1-A.7.14 or A.8.1-A.8.34", "ISO27001:2022:A.8.32"),
    Framework("NIST-800-53", "NIST SP 800-53 Rev. 5",
              "(?:" + "|".join(f"{k}-(?:{_numbers(n)})" for k, n in _NIST.items()) + ")(?:\\((?:[1-9][0-9]?)\\))?",
              "a control of a Rev. 5 family (" + ", ".join(_NIST) + ") such as CM-3, or an enhancement "
              "such as CM-3(1)", "NIST-800-53:CM-3"),
)}
# One pattern for the schema (``(?!\n)``: Python's ``$`` would accept a trailing newline)
CONTROL_PATTERN = ("^(?:" + "|".join(f"{re.escape(f.key)}:{f.id_regex}" for f in FRAMEWORKS.values())
                   + ")$(?!\\n)")


def split_control(control: str) -> tuple[str, str]:
    """(framework key, id) of a control written ``FRAMEWORK:ID``: the framework is the longest known
    prefix (``ISO27001:2022`` holds a colon itself); an unknown one splits at the last colon."""
    for key in sorted(FRAMEWORKS, key=len, reverse=True):
        if control.startswith(key + ":"):
            return key, control[len(key) + 1:]
    head, _, tail = control.rpartition(":")
    return head, tail


def control_problem(control: object) -> str | None:
    """Why ``control`` is not a control this checker knows, in words for the rule's author; None if it is one."""
    if not isinstance(control, str):
        return f"a control is a string FRAMEWORK:ID (e.g. SOC2:CC8.1), got {type(control).__name__}"
    if re.fullmatch(CONTROL_PATTERN, control):
        return None
    framework, control_id = split_control(control)
    known = ", ".join(FRAMEWORKS)
    if framework not in FRAMEWORKS:
        guess = next((k for k in FRAMEWORKS if k.lower() == framework.lower().strip()), None)
        guess = guess or next(iter(difflib.get_close_matches(framework, list(FRAMEWORKS), n=1, cutoff=0.6)), None)
        fixed = control_id.strip().upper() if guess and FRAMEWORKS[guess].accepts(control_id.strip().upper()) else control_id
        hint = f"; did you mean {guess}:{fixed}?" if guess else ""
        if not framework:
            return (f"control {control!r} names no framework: write FRAMEWORK:ID, e.g. SOC2:CC8.1 "
                    f"(frameworks: {known})")
        return f"control {control!r}: unknown framework {framework!r} (known: {known}){hint}"
    fw = FRAMEWORKS[framework]
    upper = control_id.strip().upper()
    hint = f"; did you mean {framework}:{upper}?" if upper != control_id and fw.accepts(upper) else ""
    return f"control {control!r}: {control_id!r} is not an id of {fw.title}: expected {fw.forms}{hint}"


def control_key(control: str) -> tuple[int, tuple[object, ...]]:
    """Sort key: frameworks in the order above, then ids in their natural order (CC2.1 before CC10.1)."""
    framework, control_id = split_control(control)
    order = list(FRAMEWORKS).index(framework) if framework in FRAMEWORKS else len(FRAMEWORKS)
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.findall(r"[0-9]+|[A-Za-z]+", control_id))
    return order, parts


__all__ = ["CONTROL_PATTERN", "FRAMEWORKS", "Framework", "control_key", "control_problem", "split_control"]
