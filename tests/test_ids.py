import re

import pytest

from compliance.base.errors import ComplianceError
from compliance.base.ids import DEFAULT_PATTERN, compile_pattern, find_task_ids


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ENC-TSK-325", ["ENC-TSK-325"]),
        ("see ENC-ISS-640 now", ["ENC-ISS-640"]),
        ("ENC-FTR-056", ["ENC-FTR-056"]),
        ("ENC-LSN-001 ENC-PLN-002 ENC-GEN-003", ["ENC-LSN-001", "ENC-PLN-002", "ENC-GEN-003"]),
        ("base-36 ENC-TSK-F65 and ENC-TSK-A38", ["ENC-TSK-F65", "ENC-TSK-A38"]),
        ("four digits ENC-TSK-1005", ["ENC-TSK-1005"]),
        ("sub-task ENC-TSK-B10-0A", ["ENC-TSK-B10-0A"]),
        ("sub-task ENC-TSK-325-A1", ["ENC-TSK-325-A1"]),
        ("lower enc-tsk-325 and mixed Enc-Iss-640", ["ENC-TSK-325", "ENC-ISS-640"]),
        ("lower sub-task enc-tsk-b10-0a", ["ENC-TSK-B10-0A"]),
        ("(ENC-TSK-325), [ENC-TSK-326]: ENC-TSK-327.", ["ENC-TSK-325", "ENC-TSK-326", "ENC-TSK-327"]),
        ("other project ABC-TSK-123 and DEVOPS-ISS-001", ["ABC-TSK-123", "DEVOPS-ISS-001"]),
    ],
)
def test_every_format_is_found(text, expected):
    assert find_task_ids(text) == expected


@pytest.mark.parametrize(
    "branch, expected",
    [
        ("agent/enc-tsk-734-fix", ["ENC-TSK-734"]),
        ("agent/enc-tsk-734-ui", ["ENC-TSK-734"]),
        ("feature/enc-tsk-f65_cleanup", ["ENC-TSK-F65"]),
        ("agent/enc-tsk-b10-0a-retry", ["ENC-TSK-B10-0A"]),
        ("agent/enc-tsk-1005", ["ENC-TSK-1005"]),
    ],
)
def test_branch_names(branch, expected):
    assert find_task_ids(branch) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ABCDEFG-TSK-123",  # prefix longer than 6 letters
        "ENC-TSK-12",  # number too short
        "ENC-TSK-12345",  # number too long
        "ENC-TSK-ABCD",  # 4 characters must all be digits
        "ENC-BUG-123",  # unknown type segment
        "E-TSK-123",  # prefix too short
        "ENC-TSK-123X",  # inside a longer token
        "1ENC-TSK-123",
        "ENC-TSK-12\u00e9",
        "ENC TSK 123",
        "\u212aA-TSK-123",  # Kelvin sign is not the letter K
    ],
)
def test_false_positives(text):
    assert find_task_ids(text) == []


def test_prefix_is_never_cut_out_of_a_longer_word():
    assert "ENC-TSK-123" not in find_task_ids("XENC-TSK-123")
    assert find_task_ids("XYZWENC-TSK-123") == []  # 7 letters: one over-long prefix, not ENC


def test_subtask_suffix_needs_exactly_two_characters():
    assert find_task_ids("ENC-TSK-B10-0AB") == ["ENC-TSK-B10"]
    assert find_task_ids("ENC-TSK-B10-0") == ["ENC-TSK-B10"]


def test_deduplicated_in_first_appearance_order_across_texts():
    ids = find_task_ids("ENC-TSK-002 then enc-tsk-001", "", None, "ENC-TSK-001 ENC-TSK-002 ENC-ISS-003")
    assert ids == ["ENC-TSK-002", "ENC-TSK-001", "ENC-ISS-003"]


def test_no_texts():
    assert find_task_ids() == []


def test_default_pattern_does_not_hard_code_the_project():
    assert "ENC" not in DEFAULT_PATTERN
    # () and (None,) are two lru_cache keys: they are one object only through re's own cache, which
    # tests compiling hundreds of patterns earlier in the same worker can have evicted (an order-
    # dependent failure, seen under --dist loadgroup). From clean caches both name one compilation.
    compile_pattern.cache_clear()
    assert compile_pattern() is compile_pattern(None)
    assert isinstance(compile_pattern(), re.Pattern)


def test_custom_pattern_whole_match():
    assert find_task_ids("JIRA-12 and jira-7, ENC-TSK-325", pattern=r"(?i)\bJIRA-\d+\b") == ["JIRA-12", "JIRA-7"]


def test_custom_pattern_named_group_is_the_id():
    pattern = r"task:\s*(?P<id>[a-z]+-\d+)"
    assert find_task_ids("task: ops-12, task:web-3, ops-99", pattern=pattern) == ["OPS-12", "WEB-3"]


def test_custom_pattern_replaces_the_default():
    assert find_task_ids("ENC-TSK-325", pattern=r"X-\d+") == []


def test_invalid_pattern_is_a_compliance_error():
    with pytest.raises(ComplianceError, match=r"invalid task id pattern '\(unclosed'"):
        find_task_ids("x", pattern="(unclosed")
    with pytest.raises(ComplianceError, match="invalid task id pattern"):
        compile_pattern("[z-a]")
