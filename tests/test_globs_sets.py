"""A bracket set in a path glob lists characters that stand for themselves.

Python's ``re`` warns (FutureWarning) that ``[[``, ``&&``, ``~~`` and ``||`` inside a set will one day read as
nested sets and set operations; a glob such as ``[[]`` or ``[a&&b]`` must keep meaning the characters listed,
whatever a later Python does with the regex (the property test of test_properties found ``[[``)."""

from __future__ import annotations

import warnings

import pytest

from compliance.base.globs import glob_match


@pytest.mark.parametrize("pattern, matches, misses", [
    ("[[]x", ["[x"], ["x", "]x"]),
    ("[a&&b]", ["a", "&", "b"], ["c", "&&"]),
    ("a[~~]", ["a~"], ["a", "a~~"]),
    ("[a||b]", ["|", "a"], ["c"]),
    ("x[\\]", ["x\\"], ["x"]),
    ("[a-c]", ["b"], ["d", "-"]),   # control: a range is still a range
    ("[!a]", ["b"], ["a"]),         # control: "!" still negates
])
def test_characters_in_a_set_stand_for_themselves_without_a_warning(pattern, matches, misses):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert all(glob_match(pattern, p) for p in matches), pattern
        assert not any(glob_match(pattern, p) for p in misses), pattern
