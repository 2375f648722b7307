"""The step syntax of --op and render URLs: one way to write each kind of value, lists included."""

from __future__ import annotations

import pytest

from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.pipeline import parse_pipeline
from pixmill.imaging.step_syntax import parse_step


def test_list_items_are_separated_by_semicolons() -> None:
    assert parse_step("thumbnails:sizes=160;320;640") == {"op": "thumbnails", "params": {"sizes": [160, 320, 640]}}
    assert parse_step("thumbnails:sizes=160;320,format=jpeg,quality=70")["params"] == {
        "sizes": [160, 320],
        "format": "jpeg",
        "quality": 70,
    }


def test_a_list_parameter_takes_a_single_item() -> None:
    assert parse_step("thumbnails:sizes=320")["params"] == {"sizes": [320]}
    assert parse_step("detect:classes=person")["params"]["classes"] == ["person"]


def test_a_colour_may_be_written_as_a_list_or_a_string() -> None:
    assert parse_step("pad:width=10,background=255;0;0")["params"]["background"] == [255, 0, 0]
    assert parse_step("pad:width=10,background=#ff0000")["params"]["background"] == "#ff0000"


def test_parsed_lists_validate_against_the_catalogue() -> None:
    pipeline = parse_pipeline([parse_step("thumbnails:sizes=160;320")])
    assert pipeline.nodes[0].params.model_dump()["sizes"] == [160, 320]
    with pytest.raises(InvalidPipeline):
        parse_pipeline([parse_step("thumbnails:sizes=160;160")])  # widths must be distinct


def test_a_pair_without_equals_is_refused_with_the_syntax() -> None:
    with pytest.raises(InvalidPipeline, match="separated by commas"):
        parse_step("resize:800")
