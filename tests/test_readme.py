"""The README's operation table is generated from the catalogue: this keeps it true."""

from __future__ import annotations

from pathlib import Path

from pixmill.imaging.catalogue import markdown

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN, END = "<!-- operations:begin -->", "<!-- operations:end -->"


def test_readme_operation_table_matches_the_catalogue() -> None:
    text = README.read_text()
    table = text.split(BEGIN, 1)[1].split(END, 1)[0].strip() + "\n"
    assert table == markdown(), "regenerate with: pixmill operations --markdown"
