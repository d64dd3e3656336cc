"""The masking pre-tests against the expressions they gate, on letters case folding mixes (probe4).

``_SHAPES`` names secrets case-insensitively with Python's Unicode folding, under which LATIN SMALL LETTER
LONG S matches "s", DOTLESS I and CAPITAL I WITH DOT match "i" (KELVIN SIGN matches "k", but ``str.lower``
already gives "k"). The hint-word pre-tests lowered text with ``str.lower`` only, so "pa\u017f\u017fword=..." or
"Author\u0131zation: Bearer ..." matched the expression but never reached it: the string went out unmasked, and a
snapshot holding ``{"pa\u017f\u017fword": "..."}`` was judged canonical and masked and copied as it was.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.base import redact as r
from compliance.base import redact_doc as rd
from compliance.model.snapshot import canonical_and_masked, canonical_json, digest_text, snapshot_text
from tests.hypothesis_budget import examples

FOLDED = [
    "pa\u017f\u017fword=hunter2hunter2",  # long s
    "Author\u0131zation: Bearer abcdefghij",  # dotless i
    "AUTHOR\u0130ZATION: Bearer abcdefghij",  # capital I with dot (lowered, it becomes two characters)
    "x_\u017fecret=abcdefghijk",
    "pa\u017fswd: 'correct horse battery'",
]


def test_folded_secret_names_are_masked():
    for text in FOLDED:
        assert r._SHAPES.search(text), text
        assert r.redact(text) == r._SHAPES.sub(r._mask_match, text) != text, text


def test_the_document_check_and_the_snapshot_scan_see_folded_names():
    for doc in ({"m": FOLDED[0]}, {"a": {"pa\u017f\u017fword": "hunter2hunter2"}},
                {"h": {"Author\u0131zation": "Bearer abcdefghij"}}, {"l": [{"x": FOLDED[1]}]}):
        text = canonical_json(doc)
        assert snapshot_text(doc) != text, doc  # masking changes it ...
        assert rd._anything_to_mask(doc, r._secrets()), doc  # ... so the quick check must say so
        assert not canonical_and_masked(doc, digest_text(text)), doc  # ... and the file must not be copied as is


piece = st.one_of(
    st.sampled_from(["password", "pa\u017f\u017fword", "passwd", "authorization", "Author\u0131zation",
                     "AUTHOR\u0130ZATION", "secret", "\u017fecret", "api_key", "api_\u212aey", "x_token", "session_token",
                     "\u0130", "\u0131", "\u017f", "\u212a", "\u03a3", "\u03c2", "=", ": ", " ", "'", '"', "\n",
                     "Bearer ", "hunter2hunter2", "abcdefghijklmnop", "ghp_", "\u200b"]),
    st.text(max_size=4),
)
hostile = st.lists(piece, max_size=8).map("".join)


@settings(max_examples=examples(400), deadline=None)
@given(hostile)
def test_the_shape_pre_test_never_skips_a_match(text):
    assert r._may_hold_shape(text) or r._SHAPES.search(text) is None, text


@settings(max_examples=examples(300), deadline=None)
@given(st.dictionaries(hostile, st.one_of(hostile, st.lists(hostile, max_size=3),
                                          st.dictionaries(hostile, hostile, max_size=3)), max_size=4))
def test_the_snapshot_scan_copies_only_what_masking_keeps(doc):
    text = canonical_json(doc)
    if canonical_and_masked(doc, digest_text(text)):
        assert snapshot_text(doc) == text, doc
    assert rd._anything_to_mask(doc, r._secrets()) == (rd.mask_walk(doc, r._secrets()) != doc), doc


def test_a_secret_key_with_a_trailing_newline_is_not_copied_as_is():
    """``_secret_key`` ends in ``$`` (a final newline allowed), so the walk masks this entry's value; the JSON
    text has the escaped newline between the name and its quote, where the shapes read no separator."""
    for doc in ({"": {"password\n": "password"}}, {"x": [{"Authorization\n": "Bearer abcdefghij"}]},
                {"api_key\n": "abcdefghijk"}):
        text = canonical_json(doc)
        assert snapshot_text(doc) != text, doc
        assert not canonical_and_masked(doc, digest_text(text)), doc


def test_an_escaped_character_beside_a_name_does_not_hide_a_shape_from_the_snapshot_scan():
    """In JSON text a backslash or a control character is escaped, which puts characters the shapes do not
    expect between a name and its value: the string is masked, the snapshot was copied with it."""
    for value in ("api_key\\: hunter2hunter2", "pa\u017f\u017fword\\=\tabcdefghijklmnop", "\x00api_Key: \x00hunter2hunter2",
                  "AUTHOR\u0130ZATION\\://SecretAccessKey"):
        for doc in ({"m": value}, {"l": [{"x": value}]}, {"k": {value: "plain"}}):
            text = canonical_json(doc)
            assert snapshot_text(doc) != text, doc
            assert not canonical_and_masked(doc, digest_text(text)), doc


def test_a_learnt_secret_is_masked_until_forgotten_and_an_environment_secret_stays(monkeypatch):
    learnt, env = "inst-" + "Qm4x" * 6, "cik-" + "9z8y" * 8
    monkeypatch.setenv("COORDINATION_INTERNAL_API_KEY", env)
    text = f"token {learnt} key {env} head {learnt[:r.HEAD]}"
    assert learnt in r.redact(text)  # not a known shape: only learning it masks it
    r.remember_secret(learnt)
    masked = r.redact(text)
    assert learnt[:r.HEAD] not in masked and env not in masked and masked.count(r.MASK) == 3
    r.forget_secrets()
    again = r.redact(text)
    assert learnt in again and env not in again


# Texts of several lines, for ``_mask_shapes`` (the expression run line by line): every shape, its pieces apart,
# and what lies at a line's ends (CR, a quote, ``@``, ``://``, a PEM key across lines, an environment name).
line_piece = st.one_of(
    piece,
    st.sampled_from(["\n", "\r\n", "\r", "\n\n", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----",
                     "https://", "://", "@", "user:pa55word", "hooks.slack.com/", "services/T0AAAAAAA/B0BBBBBBB",
                     "AKIAABCDEFGHIJKLMNOP", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "ghs_" + "a1" * 12,
                     "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijk", "xoxb-1234567890-abc", "IQoJb3JpZ2lu" + "A" * 20,
                     "AWS_SECRET_ACCESS_KEY ", "MY_API_KEY\t", "X" * 16, "token=", "\"secret\": \"", "'", "\t"]),
)
multiline = st.lists(line_piece, max_size=14).map("".join)


@settings(max_examples=examples(600), deadline=None)
@given(multiline)
def test_masking_line_by_line_is_masking_the_whole_text(text):
    """``_mask_shapes`` runs the expression only on the lines the pre-test hits: the same text out as the
    expression over the whole text, whatever sits at a line's ends."""
    assert r._mask_shapes(text) == r._SHAPES.sub(r._mask_match, text), text


def test_a_secret_on_a_later_line_is_masked_and_a_pem_key_across_lines_whole():
    script = "#!/bin/bash\nset -eu\necho deploying\nexport AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEX\n"
    assert "wJalr" not in r.redact(script) and r.redact(script).startswith("#!/bin/bash\nset -eu\necho deploying\n")
    pem = "key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nAAAAAAAA\n-----END OPENSSH PRIVATE KEY-----\nok"
    assert r.redact(pem) == "key:\n***\nok"
    crlf = "ok\r\npassword: hunter2hunter2\r\nurl https://deploy:s3cr3tpass@example.com/x\r\n"
    assert r.redact(crlf) == "ok\r\npassword: ***\r\nurl https://***@example.com/x\r\n"


_FOLD_TABLE = str.maketrans({"\u017f": "s", "\u0131": "i", "\u0130": "i"})


@settings(max_examples=examples(300), deadline=None)
@given(st.one_of(hostile, st.text(), st.text(alphabet=st.sampled_from("\u017f\u0131\u0130Ss\u212aI\u00e9a\ud800"))))
def test_hint_lowering_folds_as_the_table_does(text):
    """``hint_lower`` folds by ``str.replace``: the text a translation table gives, then ``str.lower``."""
    assert r.hint_lower(text) == text.translate(_FOLD_TABLE).lower()
