"""Operations get what the deployment supplies (model files, palettes) as typed resources of the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixmill.canvas.types import Palette, PaletteColor, Palettes
from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.errors import OperationUnavailable
from pixmill.imaging.inference import uses_ml
from pixmill.imaging.pipeline import parse_pipeline
from pixmill.ml.errors import ModelUnavailable
from pixmill.ml.model_files import MLSetup


def test_a_resource_the_caller_supplies_is_found_by_its_type() -> None:
    setup, palettes = (
        MLSetup(Path("/models"), "cpu"),
        Palettes({"p": Palette("p", (PaletteColor("1", "x", (0, 0, 0)),))}),
    )
    ctx = RunContext(resources=(setup, palettes))
    assert ctx.resource(MLSetup) is setup
    assert ctx.resource(Palettes) is palettes


def test_a_resource_the_caller_did_not_supply_has_its_defaults() -> None:
    assert RunContext().resource(MLSetup) == MLSetup(None, "auto")
    assert dict(RunContext().resource(Palettes).by_name) == {}


def test_a_pipeline_names_the_palettes_its_nodes_need_once_each_in_order() -> None:
    steps = [
        {"id": "a", "op": "canvas_preview", "params": {"palette": "shop"}, "inputs": ["source"], "output": "a"},
        {"id": "b", "op": "canvas_preview", "inputs": ["source"], "output": "b"},
        {"id": "c", "op": "canvas_preview", "params": {"palette": "shop"}, "inputs": ["source"], "output": "c"},
    ]
    pipeline = parse_pipeline(steps)
    assert pipeline.names_needed(Palettes) == ["shop", "dmc"]
    assert pipeline.names_needed(MLSetup) == []


def test_an_ml_error_leaves_an_operation_as_the_cores_error_with_the_same_message() -> None:
    @uses_ml
    def run() -> None:
        raise ModelUnavailable("model yunet (yunet/yunet_s_640_640.onnx) is missing")

    with pytest.raises(OperationUnavailable) as err:
        run()
    assert err.value.message == "model yunet (yunet/yunet_s_640_640.onnx) is missing"
