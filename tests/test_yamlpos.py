"""YAML loading with positions and schema errors located at the right line."""

from __future__ import annotations

import pytest

from compliance.base.errors import InputError
from compliance.inputs.schema_messages import validate
from compliance.inputs.yamlpos import load_yaml, loads_yaml


def problems_of(text: str, path: str = "f.yaml") -> list[str]:
    with pytest.raises(InputError) as info:
        loads_yaml(text, path)
    return [str(p) for p in info.value.problems]


def test_positions_of_values_and_keys():
    data, pos = loads_yaml("a: 1\nb:\n  - x\n  - {c: true}\n", "f.yaml")
    assert data == {"a": 1, "b": ["x", {"c": True}]}
    assert pos.keys[("a",)] == (1, 1)
    assert pos.values[("a",)] == (1, 4)
    assert pos.values[("b", 0)] == (3, 5)
    assert pos.keys[("b", 1, "c")] == (4, 6)
    assert pos.values[("b", 1, "c")] == (4, 9)
    # unknown paths fall back to the nearest recorded ancestor
    assert pos.value(("b", 1, "missing")) == (4, 5)


def test_dates_stay_strings_other_scalars_keep_yaml_types():
    data, _ = loads_yaml("d: 2026-02-24\nt: 2026-02-25 08:29:47Z\nn: null\ni: 3\nf: 1.5\nb: yes\ns: '3'\n", "f")
    assert data == {
        "d": "2026-02-24",
        "t": "2026-02-25T08:29:47+00:00",
        "n": None,
        "i": 3,
        "f": 1.5,
        "b": True,
        "s": "3",
    }


def test_duplicate_keys_all_reported_at_second_occurrence():
    text = "a: 1\nb:\n  c: 1\n  c: 2\na: 3\n"
    assert problems_of(text) == [
        "f.yaml:4:3: duplicate key 'c' (first defined on line 3)",
        "f.yaml:5:1: duplicate key 'a' (first defined on line 1)",
    ]


def test_anchors_and_aliases_rejected_without_expanding():
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    problems = problems_of(bomb)
    assert all("YAML anchors and aliases are not allowed" in p for p in problems)
    assert [p.split(":")[1] for p in problems] == ["1", "2", "2", "2", "3", "3"]


def test_non_string_keys_rejected_with_hint():
    problems = problems_of("1: a\nyes: b\nok: c\n")
    assert problems == [
        "f.yaml:1:1: mapping key '1' is read as int 1, not a string; quote it",
        "f.yaml:2:1: mapping key 'yes' is read as bool True, not a string; quote it",
    ]


def test_syntax_error_location():
    (problem,) = problems_of("a: 1\nb: [1, 2\nc: 3\n")
    assert problem.startswith("f.yaml:3:2: YAML syntax error:")
    assert "line 2" in problem


def test_bad_indentation_location():
    (problem,) = problems_of("a:\n  b: 1\n c: 2\n")
    assert problem.startswith("f.yaml:3:2: YAML syntax error")


def test_empty_file(tmp_path):
    f = tmp_path / "empty.yaml"
    f.write_text("# nothing but a comment\n")
    with pytest.raises(InputError) as info:
        load_yaml(str(f))
    assert [str(p) for p in info.value.problems] == [f"{f}:1:1: file is empty (expected a YAML mapping)"]


def test_not_utf8_reports_line(tmp_path):
    f = tmp_path / "latin.yaml"
    f.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(InputError) as info:
        load_yaml(str(f))
    (problem,) = info.value.problems
    assert (problem.line, problem.col) == (2, 7)
    assert "not valid UTF-8" in problem.message and "offset 11" in problem.message


def test_too_large(tmp_path):
    f = tmp_path / "big.yaml"
    f.write_text("a: " + "x" * 100 + "\n")
    with pytest.raises(InputError) as info:
        load_yaml(str(f), max_bytes=50)
    assert "too large" in info.value.problems[0].message


def test_utf8_bom_accepted(tmp_path):
    f = tmp_path / "bom.yaml"
    f.write_bytes("\ufeffa: é\n".encode())
    data, _ = load_yaml(str(f))
    assert data == {"a": "é"}


def test_unsupported_tag():
    (problem,) = problems_of("a: !!binary aGVsbG8=\n")
    assert problem.startswith("f.yaml:1:4: unsupported YAML tag")


SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["checks", "level"],
    "properties": {
        "checks": {"type": "array", "items": {"type": "string"}},
        "level": {"enum": ["low", "high"]},
        "count": {"type": "integer"},
        "either": {"oneOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]},
    },
}


def run_validate(text: str) -> list[str]:
    data, pos = loads_yaml(text, "f.yaml")
    return [str(p) for p in validate(data, pos, SCHEMA, "f.yaml")]


def test_validate_reports_every_error_at_its_node():
    text = "cheks: [a]\nlevel: hgh\ncount: many\nextra: 1\n"
    assert run_validate(text) == [
        "f.yaml:1:1: unknown key 'cheks'; did you mean 'checks'?",
        "f.yaml:2:8: 'hgh' is not one of 'low', 'high'; did you mean 'high'?",
        "f.yaml:3:8: expected an integer, got string 'many'",
        "f.yaml:4:1: unknown key 'extra' (allowed: checks, count, either, level)",
    ]


def test_misspelled_required_key_is_one_error():
    # 'cheks' is both unknown and the missing 'checks': one did-you-mean says it all
    assert run_validate("cheks: [a]\nlevel: low\n") == ["f.yaml:1:1: unknown key 'cheks'; did you mean 'checks'?"]


def test_required_is_reported_at_the_mapping():
    assert run_validate("\n\nlevel: low\n") == ["f.yaml:3:1: missing required key 'checks'"]


def test_oneof_descends_to_precise_error():
    problems = run_validate("checks: []\nlevel: low\neither: [1, two]\n")
    assert problems == ["f.yaml:3:13: expected an integer, got string 'two'"]


def test_messages_do_not_dump_structures():
    big = "checks: {" + ", ".join(f"k{i}: {'v' * 50}" for i in range(50)) + "}\nlevel: low\n"
    (problem,) = run_validate(big)
    assert problem == "f.yaml:1:9: expected a list, got a mapping"
    assert len(problem) < 120


def test_oneof_with_no_matching_type_lists_the_alternatives():
    problems = run_validate("checks: []\nlevel: low\neither: nope\n")
    assert problems == ["f.yaml:3:9: expected an integer or a list, got string 'nope'"]
