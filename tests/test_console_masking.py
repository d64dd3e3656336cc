"""What the console masks in every line it prints (``console.VisibleStream``), probed: a private key's body
across lines, a configured secret that spans lines, a token split by a terminal escape sequence, and table
rows that must not be hidden by a cell that reads like a key's first line."""

from __future__ import annotations

import io

from compliance.base.console import VisibleStream

KEY_BODY = ["MIIEowIBAAKCAQEAsecretbodyline1", "MIIEsecretbodyline2=="]
KEY = "\n".join(["-----BEGIN RSA PRIVATE KEY-----", *KEY_BODY, "-----END RSA PRIVATE KEY-----"])


def _shown(write: str, text: str) -> str:
    out = io.StringIO()
    getattr(VisibleStream(out), write)(text)
    return out.getvalue()


def test_a_private_key_in_a_message_is_masked_to_its_end_and_the_lines_after_it_stay():
    shown = _shown("write", f"error: could not parse key:\n{KEY}\nafter the key\n")
    assert not any(line in shown for line in KEY_BODY) and "BEGIN RSA" not in shown
    assert shown.startswith("error: could not parse key:\n") and shown.endswith("after the key\n")


def test_a_configured_secret_that_spans_lines_is_masked_whole(monkeypatch):
    monkeypatch.setenv("GITHUB_APP_PRIVATE_KEY", KEY)
    shown = _shown("write", f"key was: {KEY}\nnext\n")
    assert not any(line in shown for line in KEY_BODY) and "END RSA" not in shown and shown.endswith("next\n")


def test_a_token_split_by_a_terminal_escape_sequence_is_masked():
    token = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    for split in ("\x1b[0m", "\x1b]8;;\x07", "\x1b[1;31m"):
        shown = _shown("write", f"docs/{token[:12]}{split}{token[12:]}.md\n")
        assert token[12:] not in shown and token[:12] not in shown, shown
    assert _shown("write", "plain \x1b[0m text\n") == "plain \\x1b[0m text\n"  # shown, nothing masked


def test_a_table_cell_that_reads_like_a_keys_first_line_masks_that_cell_only():
    rows = "".join(f"{i:04}  docs/f{i}.md\n" for i in range(5))
    shown = _shown("write_rows", "0000  docs/-----BEGIN RSA PRIVATE KEY-----.md\n" + rows)
    assert shown.splitlines()[0] == "0000  docs/***" and shown.splitlines()[1:] == rows.splitlines()


def test_a_key_header_split_by_a_hidden_character_or_two_keys_run_together_are_masked_to_their_end():
    """Found by a hostile probe: a zero-width space or an escape sequence inside the BEGIN line let the body
    through, and so did a second key starting on the line where the first ended (``cat a.pem b.pem``)."""
    split = KEY.replace("PRIVATE", "PRI\u200bVATE", 1)
    escaped = KEY.replace("PRIVATE", "PRI\x1b[0mVATE", 1)
    twice = KEY + KEY.replace("RSA", "EC")
    for text in (split, escaped, twice, KEY + " " + KEY):
        shown = _shown("write", f"{text}\nafter\n")
        assert not any(line in shown for line in KEY_BODY) and shown.endswith("\nafter\n"), shown


def test_an_unclosed_key_masks_the_rest_of_its_write_and_keeps_its_last_line_end():
    shown = _shown("write", "a\n-----BEGIN RSA PRIVATE KEY-----\nxx\nyy\n")
    assert shown == "a\n***\n***\n***\n"
