from __future__ import annotations

import pytest

from pixmill.canvas.palette_csv import parse_palette_csv
from pixmill.canvas.types import CanvasError, Palette


def errors_of(text: str) -> list[dict[str, object]]:
    with pytest.raises(CanvasError) as info:
        parse_palette_csv(text, name="x")
    return info.value.errors


def test_the_dmc_file_parses(dmc: Palette) -> None:
    assert len(dmc.colors) == 490
    assert dmc.name == "dmc" and dmc.version == 1
    first = dmc.colors[0]
    assert (first.code, first.name, first.rgb) == ("1", "White Tin", (220, 208, 210))
    assert len({c.code for c in dmc.colors}) == 490


def test_a_good_palette_keeps_order_spaces_and_bom() -> None:
    text = '\ufeffcode,name,r,g,b\n 310 ,Black, 0 ,0,0\n\nB5200,"Snow, White",255,255,255\n'
    palette = parse_palette_csv(text, name="mini", version=3)
    assert [(c.code, c.name, c.rgb) for c in palette.colors] == [
        ("310", "Black", (0, 0, 0)),
        ("B5200", "Snow, White", (255, 255, 255)),
    ]
    assert palette.version == 3


def test_every_bad_row_is_reported_with_its_line() -> None:
    text = (
        "code,name,r,g,b\n"  # 1
        "1,White,255,255,255\n"  # 2 fine
        "1,Again,0,0,0\n"  # 3 duplicate code
        "2,Bad,300,0,0\n"  # 4 out of range
        "3,Short,1,2\n"  # 5 wrong column count
        "4,Word,1,x,3\n"  # 6 not an integer
        ",NoCode,1,2,3\n"  # 7 empty code
        "5,Negative,-1,2,3.5\n"  # 8 two problems
        "6,Fine,1,2,3\n"  # 9 fine
    )
    errors = errors_of(text)
    lines = [e["line"] for e in errors]
    assert set(lines) == {3, 4, 5, 6, 7, 8}
    assert lines.count(8) == 2
    messages = {e["line"]: str(e["message"]) for e in errors}
    assert "already used on line 2" in messages[3]
    assert "0-255" in messages[4]
    assert "columns" in messages[5]
    assert "integer" in messages[6]
    assert "code is empty" in messages[7]


def test_header_and_emptiness() -> None:
    assert errors_of("")[0]["line"] == 1
    assert "header" in str(errors_of("id,name,r,g,b\n1,a,1,2,3\n")[0]["message"])
    empty = errors_of("code,name,r,g,b\n\n")
    assert "no colours" in str(empty[0]["message"])


def test_the_error_message_counts_problems() -> None:
    with pytest.raises(CanvasError) as info:
        parse_palette_csv("code,name,r,g,b\n1,a,1,2\n2,b,1,2\n")
    assert "2 problems" in info.value.message
