"""Palette CSV: `code,name,r,g,b` with a header row; every problem is reported with its line number."""

from __future__ import annotations

import csv
import io
from typing import Any

from pixmill.canvas.types import CanvasError, Palette, PaletteColor

COLUMNS = ("code", "name", "r", "g", "b")
MAX_COLORS = 10_000
MAX_FIELD = 200  # characters in a code or a name


def _channel(text: str, column: str) -> tuple[int | None, str | None]:
    """An RGB channel value 0..255, or an error message."""
    value = text.strip()
    try:
        number = int(value, 10)
    except ValueError:
        return None, f"{column} must be an integer 0-255, got {value!r}"
    if not 0 <= number <= 255:
        return None, f"{column} must be 0-255, got {number}"
    return number, None


def parse_palette_csv(text: str, name: str = "palette", version: int = 1) -> Palette:
    """Parse palette CSV text into a Palette; raises CanvasError listing every bad line (1 is the header)."""
    errors: list[dict[str, Any]] = []
    colors: list[PaletteColor] = []
    first_line: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header_seen = False
    try:
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue  # blank lines are allowed anywhere
            if not header_seen:
                header_seen = True
                found = tuple(cell.strip().lower() for cell in row)
                if found != COLUMNS:
                    errors.append(
                        {"line": line, "message": f"the header must be {','.join(COLUMNS)}, got {','.join(row)!r}"}
                    )
                    break  # without the header the columns cannot be trusted
                continue
            if len(row) != len(COLUMNS):
                errors.append({"line": line, "message": f"expected {len(COLUMNS)} columns, got {len(row)}"})
                continue
            code, color_name = row[0].strip(), row[1].strip()
            problems: list[str] = []
            if not code:
                problems.append("code is empty")
            elif len(code) > MAX_FIELD:
                problems.append(f"code is longer than {MAX_FIELD} characters")
            if len(color_name) > MAX_FIELD:
                problems.append(f"name is longer than {MAX_FIELD} characters")
            channels: list[int] = []
            for column, cell in zip(COLUMNS[2:], row[2:], strict=True):
                value, problem = _channel(cell, column)
                if problem is not None:
                    problems.append(problem)
                elif value is not None:
                    channels.append(value)
            if code and code in first_line:
                problems.append(f"code {code!r} is already used on line {first_line[code]}")
            elif code:
                first_line[code] = line
            if problems:
                errors.extend({"line": line, "message": problem} for problem in problems)
                continue
            colors.append(PaletteColor(code=code, name=color_name, rgb=(channels[0], channels[1], channels[2])))
    except csv.Error as exc:
        errors.append({"line": reader.line_num, "message": f"the CSV cannot be read: {exc}"})
    if not header_seen:
        errors.append({"line": 1, "message": f"the palette is empty: expected the header {','.join(COLUMNS)}"})
    elif not errors and not colors:
        errors.append({"line": reader.line_num + 1, "message": "the palette has no colours"})
    if len(colors) > MAX_COLORS:
        errors.append({"line": reader.line_num, "message": f"the palette has more than {MAX_COLORS} colours"})
    if errors:
        count = len(errors)
        raise CanvasError(f"the palette CSV has {count} problem{'s' if count > 1 else ''}", errors)
    return Palette(name=name, colors=tuple(colors), version=version)
