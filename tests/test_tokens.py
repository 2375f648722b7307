"""Secrets and signatures compare as fixed-length bytes, whatever text a client sends."""

from __future__ import annotations

from pixmill.tokens import tokens_equal


def test_equal_and_unequal_values_compare_whatever_their_text() -> None:
    assert tokens_equal("staff-key", "staff-key")
    assert tokens_equal(b"abc", "abc")
    assert not tokens_equal("staff-key", "staff-kez")
    assert not tokens_equal("staff-key", "")
    for hostile in ("é", "Ã©", "\udcff", "😀" * 1000, "\x00"):  # hmac.compare_digest raises TypeError on these
        assert not tokens_equal("staff-key", hostile)
