"""The quick "anything to mask?" check over a whole document agrees with masking it.

``redact_data`` skips the walk when ``_anything_to_mask`` says a document is clean, so a check that
answers "clean" for a document the walk would change leaks a secret into every report. The check
gathers the document's distinct strings (keys too), joins them into batches cleared by substring
tests and searches only the strings a hit lands in; these tests put a secret (or only a harmless hint
word) at every depth and position that gathering and batching treat differently: the first and last
record, a batch boundary, a mapping of many entries, a key that names the secret, a key that is one,
a string shared by two places, a token split by a hidden character, text whose lowering changes length.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.base import redact, redact_doc, textscan
from tests.hypothesis_budget import examples

TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4"
SNAPSHOT_LIKE_SIZES = (1, 31, 33, 255, 256, 257, 513, 1100)


def _records(n: int) -> list[dict]:
    return [{"sha": f"{i:040x}", "subject": f"change {i} of the api", "files": [{"path": f"api/f{i}.py"}],
             "task_ids": [f"ENC-TSK-{i:03d}"]} for i in range(n)]


def _doc(records: list[dict], items: dict | None = None) -> dict:
    return {"snapshot_version": 1, "sources": {"git": {"status": "ok", "data": {"commits": records}},
                                               "tracker": {"status": "ok", "data": {"items": items or {}}}}}


def _walk_changes(doc: dict) -> bool:
    return redact_doc.mask_walk(doc) != doc


@pytest.mark.parametrize("n", SNAPSHOT_LIKE_SIZES)
def test_clean_history_of_any_size_needs_no_walk(n):
    doc = _doc(_records(n))
    assert redact_doc._anything_to_mask(doc, ()) is False
    assert not _walk_changes(doc)


@pytest.mark.parametrize("n", SNAPSHOT_LIKE_SIZES)
@pytest.mark.parametrize("where", ["first", "last", "middle", "batch_edge"])
def test_a_token_in_any_record_is_found(n, where):
    records = _records(n)
    i = {"first": 0, "last": n - 1, "middle": n // 2, "batch_edge": min(n - 1, 255)}[where]
    records[i]["body"] = f"pasted {TOKEN} by mistake"
    doc = _doc(records)
    assert redact_doc._anything_to_mask(doc, ()) is True
    assert _walk_changes(doc)
    assert TOKEN not in repr(redact_doc.redact_data(doc))


@pytest.mark.parametrize("n", (10, 300, 700))
def test_a_secret_named_by_its_key_in_a_big_mapping_is_found(n):
    items = {f"ENC-TSK-{i:04d}": {"history": [{"text": f"worked on {i}"}]} for i in range(n)}
    items[f"ENC-TSK-{n - 1:04d}"]["history"][0]["SecretAccessKey"] = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"
    doc = _doc(_records(3), items)
    assert redact_doc._anything_to_mask(doc, ()) is True
    assert "wJalrXUtnFEMI" not in repr(redact_doc.redact_data(doc))


@pytest.mark.parametrize("n", (40, 600))
def test_hint_words_alone_are_not_secrets(n):
    """A batch with ``key`` and ``token`` in prose is halved down to its records and found clean."""
    records = _records(n)
    records[n // 3]["body"] = "rotate the api key; the token cache and the route_key field"
    doc = _doc(records)
    assert redact_doc._anything_to_mask(doc, ()) is _walk_changes(doc) is False


def test_an_environment_secret_and_a_hidden_split_token_are_found():
    records = _records(400)
    records[399]["subject"] = "value is s3cr3t-v4lue-from-env"
    assert redact_doc._anything_to_mask(_doc(records), ("s3cr3t-v4lue-from-env",)) is True
    records = _records(400)
    records[257]["body"] = TOKEN[:8] + "\u200b" + TOKEN[8:]
    doc = _doc(records)
    assert redact_doc._anything_to_mask(doc, ()) is True
    assert TOKEN[8:] not in repr(redact_doc.redact_data(doc))


def test_a_lone_surrogate_is_found():
    records = _records(300)
    records[299]["subject"] = "half an emoji \ud83d"
    assert redact_doc._anything_to_mask(_doc(records), ()) is True


_words = st.sampled_from(["api", "key", "token", "passw", "ok", "x", "=", ":", "\"", "@", "://", "secret",
                          TOKEN, "password=hunter2hunter2", "AKIA" + "ABCDEFGHIJKLMNOP", "\u200b", " "])


@settings(max_examples=examples(150), deadline=None)
@given(st.lists(st.lists(_words, max_size=6).map("".join), min_size=0, max_size=700),
       st.integers(min_value=0, max_value=3))
def test_the_quick_check_never_says_clean_where_the_walk_masks(texts, shape):
    """Property: whatever the strings and wherever they sit, "clean" implies the walk changes nothing."""
    if shape == 0:
        doc = _doc([{"subject": t} for t in texts])
    elif shape == 1:
        doc = {"items": {f"k{i}": t for i, t in enumerate(texts)}}
    elif shape == 2:
        doc = {"list": texts}
    else:
        doc = {"nested": [{"a": [t], "token": t} for t in texts]}
    if not redact_doc._anything_to_mask(doc, ()):
        assert not _walk_changes(doc)


@pytest.mark.parametrize("batch", (1, 7, 64, 1 << 18))
@pytest.mark.parametrize("where", (0, 150, 299))
def test_the_report_stream_stops_at_a_secret_wherever_its_batch_ends(monkeypatch, batch, where):
    """``TextScan`` holds chunks back in batches: a secret named by its key in one batch and held in
    the next (``"SecretAccessKey": `` then the value) is still found, and a clean stream passes whole."""
    from compliance.model.snapshot import canonical_chunks

    monkeypatch.setattr(textscan, "_WATCH_BATCH", batch)
    records = _records(300)
    clean = list(canonical_chunks({"findings": records}))
    scan = textscan.TextScan()
    assert list(scan.watch(iter(clean))) == clean and not scan.dirty
    records[where]["SecretAccessKey"] = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"
    chunks = list(canonical_chunks({"findings": records}))
    scan = textscan.TextScan()
    passed = "".join(scan.watch(iter(chunks)))
    assert scan.dirty
    assert "wJalrXUtnFEMI" not in passed


def _linked_records(n: int) -> list[dict]:
    """Records as a report holds them: run URLs and authors' e-mail addresses in every one."""
    return [{"sha": f"{i:040x}", "url": f"https://github.com/o/r/actions/runs/{i}",
             "author": f"dev{i}@example.com", "label": f"ssh://git@host/r{i} mailto:a@b"} for i in range(n)]


@pytest.mark.parametrize("where", (0, 255, 256, 599))
def test_urls_and_addresses_are_not_a_hint_but_a_url_password_still_is(where):
    """``://`` and ``@`` are in every record of a report (run URLs, e-mail addresses); only a URL that
    carries a password is the shape, and it is found wherever it sits among them (issue 18)."""
    records = _linked_records(600)
    assert not any(redact._may_hold_shape(redact_doc._ENCODE(r)) for r in records)
    assert redact_doc._anything_to_mask(_doc(records), ()) is False
    records[where]["url"] = "https://deploy:hunter2hunter2@ci.example/hook"
    doc = _doc(records)
    assert redact_doc._anything_to_mask(doc, ()) is True
    assert "hunter2" not in str(redact_doc.redact_data(doc))


_url_parts = st.sampled_from(["https", "://", "@", ":", "/", "user", "pw", "x", " ", "\"", "\\", "host", "."])


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(_url_parts, max_size=12).map("".join))
def test_the_url_pre_test_holds_wherever_the_shape_matches(text):
    """Property: the pre-test is True for every text the shape expression matches (the pre-test may only
    ever be wider), raw or JSON-encoded."""
    for t in (text, redact_doc._ENCODE(text)):
        if redact._SHAPES.search(t):
            assert redact._may_hold_shape(t), t


def test_a_token_used_as_a_key_is_found_and_masked():
    """A mapping keyed by collected text (a worklog line, a path) carries a token the walk must mask too."""
    doc = {"by_text": {f"line {i}": i for i in range(50)}}
    doc["by_text"][f"deployed with {TOKEN}"] = 50
    assert redact_doc._anything_to_mask(doc, ()) is True
    masked = redact_doc.redact_data(doc)
    assert TOKEN not in repr(masked)
    assert masked["by_text"]["deployed with ***"] == 50 and masked["by_text"]["line 3"] == 3


def test_a_token_deep_in_nested_lists_and_tuples_is_found():
    inner: list = [f"pasted {TOKEN}"]
    for _ in range(60):
        inner = [{"level": inner}, ("x",)]
    assert redact_doc._anything_to_mask({"deep": inner}, ()) is True
    assert TOKEN not in repr(redact_doc.redact_data({"deep": inner}))


def test_one_string_in_two_places_is_masked_in_both():
    """Strings are tested once each however often they appear (a report repeats them), masked everywhere."""
    text = f"ran with {TOKEN}"
    doc = {"findings": [{"message": text}, {"message": "ok"}], "changes": [{"timeline": [{"detail": text}]}]}
    out = redact_doc.redact_data(doc)
    assert TOKEN not in repr(out) and out["findings"][1]["message"] == "ok"


@pytest.mark.parametrize("held", (2, 50, 1 << 17))
@pytest.mark.parametrize("batch", (16, 64, 1 << 20))
def test_a_token_among_harmless_hint_words_is_found_wherever_its_batch_ends(monkeypatch, batch, held):
    """Hint words everywhere (``key``, ``token`` in prose) and one real token: the strings a hit lands in
    are found by position in the joined batch, so the token is found next to any of them, in whichever
    round of held strings it falls."""
    monkeypatch.setattr(redact_doc, "_SCAN_BATCH", batch)
    monkeypatch.setattr(redact_doc, "_HELD", held)
    texts = [f"rotate the api key {i}" if i % 3 else f"change {i}" for i in range(900)]
    assert redact_doc._anything_to_mask({"t": texts}, ()) is False
    for where in (0, 1, 449, 898, 899):
        dirty = list(texts)
        dirty[where] = dirty[where] + f" {TOKEN}"
        assert redact_doc._anything_to_mask({"t": dirty}, ()) is True, where


@pytest.mark.parametrize("prefix", ["\u0130stanbul ", "\u212a ", "caf\u00e9 ", ""])
def test_text_whose_lowering_changes_length_or_case_folds_is_still_searched(prefix):
    """``str.lower`` makes U+0130 two characters (positions shift) and folds the Kelvin sign to ``k``, as the
    shape expression's case-insensitive match does: the check agrees with the walk on both."""
    texts = [f"{prefix}note {i}" for i in range(200)]
    texts[150] = f"{prefix}api_\u212aey=abcdef0123456789"  # matched by (?i:api[_-]?key)
    doc = {"t": texts}
    assert redact_doc._anything_to_mask(doc, ()) is _walk_changes(doc) is True
    texts[150] = f"{prefix}password=hunter2hunter2"
    assert redact_doc._anything_to_mask(doc, ()) is _walk_changes(doc) is True


def test_a_value_json_would_not_write_is_walked():
    """Not plain data (an object with a ``__str__``): the check does not vouch for it."""

    class Opaque:
        def __str__(self) -> str:
            return TOKEN

    assert redact_doc._anything_to_mask({"x": [Opaque()]}, ()) is True
    assert redact_doc._anything_to_mask({"x": [1, 2.5, True, None, "ok"]}, ()) is False


def test_a_secret_named_by_its_key_deep_in_a_list_and_a_harmless_one_beside_it():
    doc = {"a": [[{"id": 1, "api_key": "$API_KEY"}]]}  # a reference, not a secret: the walk keeps it
    assert redact_doc._anything_to_mask(doc, ()) is _walk_changes(doc) is False
    doc["a"][0].append({"nested": {"session_token": "FQoGZXIvYXdzEXAMPLEVALUE"}})
    assert redact_doc._anything_to_mask(doc, ()) is _walk_changes(doc) is True


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.lists(_words, max_size=6).map("".join), min_size=0, max_size=400),
       st.integers(min_value=0, max_value=4), st.sampled_from([16, 256, 1 << 20]), st.sampled_from([1, 7, 1 << 17]))
def test_the_quick_check_is_exactly_whether_the_walk_masks(texts, shape, batch, held):
    """Property: the check tests each string (and key) as masking does, so it answers exactly whether the
    walk changes the document, in both directions, wherever the batches and the rounds of held strings end."""
    old = redact_doc._SCAN_BATCH, redact_doc._HELD
    redact_doc._SCAN_BATCH, redact_doc._HELD = batch, held
    try:
        if shape == 0:
            doc = _doc([{"subject": t} for t in texts])
        elif shape == 1:
            doc = {"items": {t: i for i, t in enumerate(texts)}}  # the texts as keys
        elif shape == 2:
            doc = {"list": texts}
        elif shape == 3:
            doc = {"nested": [{"a": [t], "token": t} for t in texts]}
        else:
            doc = {"pairs": [{"k": a, "v": b} for a, b in zip(texts, texts[1:], strict=False)]}
        assert redact_doc._anything_to_mask(doc, ()) is _walk_changes(doc)
    finally:
        redact_doc._SCAN_BATCH, redact_doc._HELD = old


@pytest.mark.parametrize("batch", (1, 300, 1 << 18))
@pytest.mark.parametrize("where", (0, 151, 299))
def test_the_stream_searches_the_chunks_hint_words_sit_in_and_finds_the_secret_among_them(monkeypatch, batch, where):
    """A hint word in every record (a path ``keys/``, prose about a token) sends ``TextScan`` to the chunks
    they sit in, found by position, and the value after a key that names a secret: a secret beside them
    is still found, whether it is a token shape, named by its key or an environment secret."""
    from compliance.model.snapshot import canonical_chunks

    monkeypatch.setattr(textscan, "_WATCH_BATCH", batch)
    records = [{"path": f"api/keys/k{i}.py", "note": f"rotate the token cache {i}"} for i in range(300)]
    clean = list(canonical_chunks({"commits": records}))
    scan = textscan.TextScan()
    assert list(scan.watch(iter(clean))) == clean and not scan.dirty
    for secret in ({"body": f"pasted {TOKEN}"}, {"SessionToken": "FQoGZXIvYXdzEXAMPLEVALUE"},
                   {"url": "https://deploy:hunter2hunter2@ci.example/hook"}):
        dirty = [dict(r) for r in records]
        dirty[where].update(secret)
        scan = textscan.TextScan()
        passed = "".join(scan.watch(iter(canonical_chunks({"commits": dirty}))))
        assert scan.dirty, secret
        assert "hunter2" not in passed and TOKEN not in passed and "EXAMPLEVALUE" not in passed
    # entries of a mapping are chunks of their own, a key and then its value: the key holds the hint word
    entries = {f"k{i:03d}": f"rotate the token cache {i}" for i in range(300)}
    scan = textscan.TextScan()
    assert "".join(scan.watch(iter(canonical_chunks({"meta": entries})))) and not scan.dirty
    entries[f"k{where:03d}"] = {"SessionToken": "FQoGZXIvYXdzEXAMPLEVALUE"}
    scan = textscan.TextScan()
    passed = "".join(scan.watch(iter(canonical_chunks({"meta": entries}))))
    assert scan.dirty and "EXAMPLEVALUE" not in passed


def _failing_doc(evidence: list[dict]) -> dict:
    return {"report_version": 1, "summary": {"verdict": "fail", "pass": 0, "fail": 1},
            "findings": [{"rule_id": "A-1", "status": "fail", "subject": "s", "subject_type": "change",
                          "message": "m", "severity": "high", "evidence": evidence, "title": "t"}]}


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_a_secret_split_between_a_key_and_its_value_is_masked_in_every_rendered_report(tmp_path, fmt):
    """The reports print an evidence entry as ``key: value``: a value that is no secret on its own but is
    one under its key (``api_key``, ``SessionToken``) is masked before any format joins the two; a token
    that is itself a key of the document is masked too."""
    from compliance.report import write_masked

    evidence = [{"kind": "probe", "label": "capability probe", "api_key": "k3yV4lu3Abcdef0123",
                 "SessionToken": "FQoGZXIvYXdzEXAMPLEVALUE", f"deployed with {TOKEN}": "yes"}]
    masked, written = write_masked(_failing_doc(evidence), tmp_path, (fmt,))
    text = written[fmt].read_text("utf-8")
    for leaked in ("k3yV4lu3Abcdef0123", "EXAMPLEVALUE", TOKEN):
        assert leaked not in text and leaked not in repr(masked), leaked
    assert masked["findings"][0]["evidence"][0]["api_key"] == "***"
