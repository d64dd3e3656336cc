"""A secret split by an invisible character, or shown a part at a time, is masked (hostile probe 20).

Each case here went out unmasked before: the snapshot scan judged a file holding it clean (and the report
set copied the file with it), or ``redact`` showed most of the secret. The properties put an environment
secret, split by any invisible character at any place, into text of an alphabet the secret does not use,
so no run of the secret's characters can reach the output by chance.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.base import redact as r
from compliance.base.console import INVISIBLE_RE
from compliance.model.snapshot import canonical_and_masked, canonical_json, digest_text, snapshot_text
from tests.hypothesis_budget import examples

AWS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@contextmanager
def secret_env(name: str, value: str):
    """The variable set for the block (hypothesis runs many examples in one test call: no fixture)."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before


def copied_as_is(doc) -> bool:
    """Whether the report set would copy a file holding ``doc`` as it is (the scan found nothing to mask)."""
    return canonical_and_masked(doc, digest_text(canonical_json(doc)))


def test_a_token_split_by_del_is_not_copied_with_the_file():
    """DEL is the one hidden character json writes raw in ASCII text: the scan looked for hidden characters
    only in non-ASCII text or text with an escape, so this file was copied with the token in it."""
    doc = {"note": "ghp_abc\x7fdefghijklmnopqrstuvwx"}
    assert snapshot_text(doc) == '{\n  "note": "***"\n}\n'
    assert not copied_as_is(doc)


def test_a_known_secret_split_by_a_hidden_character_is_masked_whole_in_text_and_file():
    with secret_env("AWS_SECRET_ACCESS_KEY", AWS_KEY):
        for hidden in ("\u200b", "\xad", "\x7f", "\u2060"):
            split = AWS_KEY[:13] + hidden + AWS_KEY[13:]
            out = r.redact(f"key={split} done")
            assert out == "key=*** done", (hidden, out)  # not "key=***\u200b/K7MDENG/bPxRfiCYEXAMPLEKEY"
            doc = {"note": f"wJal{hidden}rXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
            assert AWS_KEY[4:] not in snapshot_text(doc), hidden
            assert not copied_as_is(doc), hidden


def test_a_short_known_secret_split_by_a_hidden_character_is_not_copied():
    with secret_env("GH_TOKEN", "abcdef"):
        doc = {"a": "abcde\u200bf"}
        assert "abcde" not in snapshot_text(doc)
        assert not copied_as_is(doc)


def test_a_secret_read_with_its_final_newline_is_masked_without_it():
    """A key read from a file keeps its newline; the text it is pasted into does not."""
    with secret_env("AWS_SECRET_ACCESS_KEY", "\nwJalrXUtnFEMI\n"):
        assert r.redact("the key wJalrXUtnFEMI was rotated") == "the key *** was rotated"


def test_a_secret_of_invisible_or_few_visible_characters_masks_no_ordinary_text():
    """Its stripped form was added whatever its length: an empty form masked between every two characters
    (so a token read through the masks), a one-letter form every "e" (probe 21)."""
    token = "ghp_abcdefghijklmnopqrstuvwxyz0123"
    for value in ("\u200b" * 4, "\x01" * 4, "\u200be\u200b\u200b", "\u200b\u200b\u200bx"):
        with secret_env("GH_TOKEN", value):
            assert r.redact(f"token {token} end") == "token *** end", repr(value)
            assert r.redact("The release notes were reviewed here") == "The release notes were reviewed here"


def test_another_private_key_is_masked_whole_while_the_app_key_is_set():
    """The app key's first characters ("-----BEG") were a head of their own: masked first, they broke the
    PEM shape of any other key, whose body was then shown (probe 21; before this session too)."""
    app = "-----BEGIN RSA PRIVATE KEY-----\nMIIEAAAA\n-----END RSA PRIVATE KEY-----\n"
    other = "-----BEGIN RSA PRIVATE KEY-----\nMIIEotherkeybodyZZZZZZZZ\n-----END RSA PRIVATE KEY-----"
    with secret_env("GITHUB_APP_PRIVATE_KEY", app):
        assert r.redact(f"key: {other} ok") == "key: *** ok"
        assert r.redact(f"app: {app}") == "app: ***"


secret = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+", min_size=12, max_size=40)
hidden = st.sampled_from(sorted({c for c in map(chr, range(0x3000)) if INVISIBLE_RE.fullmatch(c)}
                                | {"\u2060", "\u2064", "\ufeff", "\U000e0041"}))
around = st.text(alphabet=" -=:.,;!?()[]{}<>|~^`'\"\t\n", max_size=12)


@settings(max_examples=examples(300), deadline=None)
@given(secret, st.lists(st.tuples(st.integers(0, 40), hidden), min_size=1, max_size=3), around, around)
def test_no_run_of_a_split_secret_reaches_the_text_or_the_saved_file(value, cuts, before, after):
    split = value
    for at, char in sorted(cuts, reverse=True):
        split = split[:min(at, len(split))] + char + split[min(at, len(split)):]
    with secret_env("AWS_SECRET_ACCESS_KEY", value):
        shown = INVISIBLE_RE.sub("", r.redact(before + split + after))
        saved = snapshot_text({"note": before + split + after})
        kept = INVISIBLE_RE.sub("", json.loads(saved)["note"])
        for i in range(len(value) - r.HEAD + 1):
            run = value[i:i + r.HEAD]
            assert run not in shown, (split, shown)
            assert run not in kept, (split, saved)
        if copied_as_is({"note": before + split + after}):
            assert saved == canonical_json({"note": before + split + after})


def test_a_key_naming_a_secret_behind_an_invisible_character_has_its_value_masked():
    """A renderer shows ``pass\\x7fword`` as ``password``: the entry is a password's, in the walk and the scan alike."""
    for key in ("pass\x7fword", "api\u200b_key", "Secret\xadAccessKey"):
        doc = {"creds": {key: "hunter2hunter2"}}
        assert "hunter2" not in snapshot_text(doc), key
        assert not copied_as_is(doc), key
