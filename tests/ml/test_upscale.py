"""upscale: FSRCNN and ESPCN against bicubic on real photographs, through the pipeline, with the real weights."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.errors import OperationUnavailable, OutputTooLarge
from pixmill.imaging.limits import Limits
from pixmill.imaging.ops.upscale import SOFTWARE_TAG
from pixmill.imaging.pipeline import RunResult, parse_pipeline, run_pipeline
from pixmill.imaging.values import EncodedValue
from pixmill.ml import superres
from pixmill.ml.model_files import MLSetup
from tests import images

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CROP = 120  # divisible by 2 and 3: the low-resolution copies are exact


@pytest.fixture
def models_dir() -> Path:
    """The real model files (../shared/models)."""
    return SHARED / "models"


def _crop(name: str, mode: str) -> Image.Image:
    """The CROP x CROP centre of a test-set image (read in place, never copied into the repository)."""
    im = Image.open(SHARED / "testsets" / name)
    left, top = (im.width - CROP) // 2, (im.height - CROP) // 2
    return im.convert(mode).crop((left, top, left + CROP, top + CROP))


def _low_res(hr: Image.Image, scale: int) -> Image.Image:
    """hr shrunk `scale` times with OpenCV's bicubic, the degradation the networks were trained to undo."""
    small = cv2.resize(np.asarray(hr), (hr.width // scale, hr.height // scale), interpolation=cv2.INTER_CUBIC)
    return Image.fromarray(small)


def _run(source: Image.Image, params: dict, models_dir: Path | None, limits: Limits | None = None) -> RunResult:
    pipeline = parse_pipeline([{"op": "upscale", "params": params}, {"op": "convert", "params": {"format": "png"}}])
    ctx = RunContext(limits=limits or Limits(), resources=(MLSetup(models_dir),))
    return run_pipeline(pipeline, images.encode(source, "PNG"), ctx)


def _output(result: RunResult) -> Image.Image:
    (out,) = result.outputs
    assert isinstance(out.value, EncodedValue)
    return images.decode(out.value.data)


def _upscaled(source: Image.Image, params: dict, models_dir: Path | None) -> Image.Image:
    return _output(_run(source, params, models_dir))


def _psnr(reference: Image.Image, test: Image.Image, shave: int) -> float:
    """PSNR in dB over every channel, `shave` border pixels left out (the usual SR convention)."""
    a = np.asarray(reference, dtype=np.float64)[shave:-shave, shave:-shave]
    b = np.asarray(test, dtype=np.float64)[shave:-shave, shave:-shave]
    return float(10 * np.log10(255.0**2 / np.mean((a - b) ** 2)))


def _note(im: Image.Image) -> str:
    return str(im.getexif().get(SOFTWARE_TAG))


@pytest.mark.parametrize("scale", [2, 3])
def test_fsrcnn_and_espcn_beat_bicubic(models_dir: Path, scale: int) -> None:
    hr = _crop("CBSD68/106024.png", "RGB")
    lr = _low_res(hr, scale)
    psnr = {}
    for model in ("bicubic", "fsrcnn", "espcn"):
        out = _upscaled(lr, {"scale": scale, "model": model}, models_dir)
        assert out.size == (CROP, CROP) and out.mode == "RGB"
        psnr[model] = _psnr(hr, out, scale)
    assert psnr["fsrcnn"] > psnr["bicubic"] + 1.0, psnr
    assert psnr["espcn"] > psnr["bicubic"] + 1.0, psnr
    # The figures OpenCV 4.10's dnn_superres gave on the original .pb graphs: the ONNX path reproduces them.
    measured = {2: {"fsrcnn": 35.21, "espcn": 35.45}, 3: {"fsrcnn": 28.98, "espcn": 29.33}}[scale]
    for model, db in measured.items():
        assert psnr[model] == pytest.approx(db, abs=0.02), (model, psnr)


def test_grayscale_stays_grayscale_and_beats_bicubic(models_dir: Path) -> None:
    hr = _crop("Set12/05.png", "L")
    lr = _low_res(hr, 2)
    bicubic = _upscaled(lr, {"model": "bicubic"}, models_dir)
    fsrcnn = _upscaled(lr, {"model": "fsrcnn"}, models_dir)
    assert fsrcnn.mode == "L" and fsrcnn.size == (CROP, CROP)
    assert _psnr(hr, fsrcnn, 2) > _psnr(hr, bicubic, 2) + 1.0


@pytest.mark.parametrize(("scale", "size"), [(2, (74, 50)), (3, (111, 75)), (4, (148, 100))])
def test_output_sizes_are_exact(models_dir: Path, scale: int, size: tuple[int, int]) -> None:
    lr = _low_res(_crop("CBSD68/106024.png", "RGB"), 2).crop((0, 0, 37, 25))  # odd sizes
    for model in ("fsrcnn", "espcn", "bicubic"):
        assert _upscaled(lr, {"scale": scale, "model": model}, models_dir).size == size


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_kept_and_enlarged_with_bicubic(models_dir: Path, mode: str) -> None:
    base = _low_res(_crop("CBSD68/106024.png", "RGB"), 2).convert(mode[:-1])  # 60 x 60
    alpha = np.zeros((60, 60), dtype=np.uint8)
    alpha[:, :30] = 255  # opaque left half, transparent right half, a ramp along the bottom rows
    alpha[50:, :] = np.linspace(0, 255, 60).astype(np.uint8)
    source = base.copy()
    source.putalpha(Image.fromarray(alpha))
    out = _upscaled(source, {"model": "fsrcnn"}, models_dir)
    assert out.mode == mode and out.size == (120, 120)
    big_alpha = np.asarray(out.getchannel("A")).astype(int)
    assert (big_alpha[:96, :56] == 255).all() and (big_alpha[:96, 64:] == 0).all()
    expected = cv2.resize(alpha, (120, 120), interpolation=cv2.INTER_CUBIC).astype(int)
    assert np.array_equal(big_alpha, expected)
    # the colour is what the network makes of the colour alone
    without_alpha = _upscaled(base, {"model": "fsrcnn"}, models_dir)
    assert np.array_equal(np.asarray(out.convert(mode[:-1])), np.asarray(without_alpha))


def test_auto_uses_fsrcnn_when_installed_and_is_deterministic(models_dir: Path) -> None:
    lr = _low_res(_crop("CBSD68/106024.png", "RGB"), 2)
    first, second = _run(lr, {}, models_dir), _run(lr, {}, models_dir)
    assert first.outputs[0].value == second.outputs[0].value
    auto = _output(first)
    assert np.array_equal(np.asarray(auto), np.asarray(_upscaled(lr, {"model": "fsrcnn"}, models_dir)))
    assert _note(auto) == "pixmill upscale x2: FSRCNN"


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "is missing from the models directory"), (b"not a model", "does not match its sha256")],
)
def test_auto_falls_back_to_bicubic_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes | None, reason: str
) -> None:
    if content is not None:
        (tmp_path / "sr").mkdir()
        (tmp_path / "sr" / "FSRCNN_x3.onnx").write_bytes(content)
    lr = _low_res(_crop("CBSD68/106024.png", "RGB"), 3)
    with caplog.at_level(logging.WARNING, logger="pixmill.ml"):
        result = _run(lr, {"scale": 3}, tmp_path)
    out = _output(result)
    assert np.array_equal(np.asarray(out), np.asarray(_upscaled(lr, {"scale": 3, "model": "bicubic"}, None)))
    assert [s.op for s in result.steps] == ["decode", "upscale", "convert"]
    expected = f"pixmill upscale x3: bicubic (fallback from FSRCNN: model fsrcnn_x3 (sr/FSRCNN_x3.onnx) {reason})"
    assert _note(out) == expected
    (record,) = [r for r in caplog.records if r.name == "pixmill.ml"]
    assert record.levelno == logging.WARNING and "falls back to bicubic" in record.getMessage()
    assert reason in record.getMessage()


@pytest.mark.parametrize(("model", "scale", "file"), [("fsrcnn", 2, "FSRCNN_x2.onnx"), ("espcn", 4, "ESPCN_x4.onnx")])
def test_a_named_model_that_is_missing_is_an_error(tmp_path: Path, model: str, scale: int, file: str) -> None:
    lr = _crop("CBSD68/106024.png", "RGB").resize((30, 30))
    with pytest.raises(OperationUnavailable, match=f"sr/{file}"):
        _run(lr, {"scale": scale, "model": model}, tmp_path)
    with pytest.raises(OperationUnavailable, match="not installed"):
        _run(lr, {"scale": scale, "model": model}, None)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (Limits(max_pixels=10_000), r"node 'step1' \(upscale\): the result would be 180x180 = 32400 pixels, over"),
        (Limits(max_dimension=150), r"the result would be 180x180 = 32400 pixels, over the limits \(150 pixels a side"),
    ],
)
def test_an_output_over_the_limits_is_refused_before_any_work(tmp_path: Path, limits: Limits, message: str) -> None:
    lr = _low_res(_crop("CBSD68/106024.png", "RGB"), 2)  # 60 x 60: within the limits itself
    # The models directory is empty: the size check comes first, so no model is even looked for.
    with pytest.raises(OutputTooLarge, match=message) as err:
        _run(lr, {"scale": 3, "model": "fsrcnn"}, tmp_path, limits)
    assert err.value.errors[0]["node"] == "step1" and err.value.errors[0]["field"] == "params.scale"


def test_animations_keep_every_frame(models_dir: Path) -> None:
    frames = [images.quadrants(24, 16), images.quadrants(24, 16).transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    data = images.encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    pipeline = parse_pipeline([{"op": "upscale", "params": {"model": "espcn"}}])
    (out,) = run_pipeline(pipeline, data, RunContext(resources=(MLSetup(models_dir),))).outputs
    assert isinstance(out.value, EncodedValue)
    im = images.decode(out.value.data)
    assert im.size == (48, 32) and getattr(im, "n_frames", 1) == 2


def test_bicubic_runs_with_standard_work_and_models_on_the_ml_queue() -> None:
    assert parse_pipeline([{"op": "upscale", "params": {"model": "bicubic"}}]).queues == {"standard"}
    for model in ("auto", "fsrcnn", "espcn"):
        assert parse_pipeline([{"op": "upscale", "params": {"model": model}}]).queues == {"ml"}


def test_bad_parameters_are_refused() -> None:
    from pixmill.imaging.errors import InvalidPipeline

    for params in ({"scale": 5}, {"model": "edsr"}, {"scale": 2, "colour": 1}):
        with pytest.raises(InvalidPipeline):
            parse_pipeline([{"op": "upscale", "params": params}])


def test_tiles_join_without_seams(models_dir: Path) -> None:
    pixels = np.asarray(_crop("CBSD68/106024.png", "RGB"))
    path = models_dir / "sr" / "ESPCN_x2.onnx"
    whole = superres.upsample(pixels, "espcn", 2, path).astype(int)
    tiled = superres.upsample(pixels, "espcn", 2, path, tile=32).astype(int)
    assert np.abs(whole - tiled).max() <= 1  # float summation order only
