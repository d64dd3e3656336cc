"""report.json version 3 probed with values a template/argument split could change on expansion (probe4)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.model.snapshot import canonical_json
from compliance.report.compact import compact_report
from compliance.report.expand import CompactError, expand_report
from tests.hypothesis_budget import examples
from tests.jsoncopy import copy_json
from tests.reportfile import without_pass_details


@pytest.fixture(scope="module")
def doc(demo_doc):
    return demo_doc


def _back(doc):
    return expand_report(json.loads(canonical_json(compact_report(doc), allow_nan=False)))


_HOSTILE = st.lists(st.sampled_from(["{", "}", "{0}", "{1}", "{sha}", "{short}", "{subject}", "{task}", "{repo}",
                                     "{{", "}}", "{}", "{0!r}", "{sha:>9}", "0", "1", "7", "-1", "True", "null",
                                     " ", "#", "@", "ENC-TSK-325", "a", "\u202e", "\u00e9", "\\", '"']),
                    max_size=6).map("".join)


@settings(max_examples=examples(90), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(_HOSTILE, min_size=4, max_size=12), which=st.integers(0, 10_000), steal=st.booleans())
def test_hostile_values_read_back_as_they_were(doc, words, which, steal):
    d = copy_json(doc)
    changes = d["changes"]
    n = len(changes)
    c = changes[which % n]
    other = changes[(which + 1) % n]
    c["subject"] = words[0] + (other["short"] if steal else "")
    if c.get("task_ids"):
        c["task_ids"] = [words[1] or "ENC-TSK-1", *c["task_ids"][1:]]
    for stage, w in zip(c["timeline"], words[2:], strict=False):
        stage["label"] = w + " " + c["short"] + " " + words[0] + (" " + other["sha"] if steal else "")
        stage["detail"] = c["subject"] + w
    failing = [f for f in d["findings"] if f["status"] != "pass"]
    for f, w in zip(failing, words, strict=False):
        f["message"] = w + f["message"] + (other["short"] if steal else "") + c["subject"]
    fixed = json.loads(json.dumps(d))
    assert without_pass_details(_back(d)) == without_pass_details(fixed)


def _v3(doc):
    return json.loads(canonical_json(compact_report(doc), allow_nan=False))


def test_a_template_that_multiplies_its_argument_is_refused_before_it_is_filled(doc):
    """A hand-edited file of some tens of KB whose one stage fills in to 100 million characters per change
    (a template of 10,000 ``{0}`` and an argument of 10,000 characters): a clear error, not the memory."""
    raw = _v3(doc)
    n = len(raw["stage_fields"])
    raw["strings"].append("{0}" * 10_000)
    bomb = len(raw["strings"]) - 1
    raw["stages"].append([bomb, *([None] * (n - 1)), ["x" * 10_000]])
    col = raw["change_columns"].index("timeline")
    raw["changes"][0][col].append(len(raw["stages"]) - 1)
    with pytest.raises(CompactError, match="characters"):
        expand_report(raw)


def test_a_message_template_that_multiplies_a_value_is_refused(doc):
    raw = _v3(doc)
    f = next(f for f in raw["findings"] if isinstance(f["subject"], int) and isinstance(f["message"], int))
    col = raw["change_columns"].index("subject")
    raw["changes"][f["subject"]][col] = "s" * 10_000
    raw["strings"].append("{subject}" * 10_000)
    f["message"] = len(raw["strings"]) - 1
    with pytest.raises(CompactError, match="characters"):
        expand_report(raw)
