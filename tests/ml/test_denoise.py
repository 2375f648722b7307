"""DnCNN denoising: the network, its tiling and the `denoise` operation, on small crops of real test images."""

from __future__ import annotations

import io
import itertools
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pixmill.imaging.catalogue import RunContext, get_operation
from pixmill.imaging.errors import InvalidPipeline, OperationUnavailable
from pixmill.imaging.ops.denoise import DenoiseParams, denoise
from pixmill.imaging.pipeline import parse_pipeline, run_pipeline
from pixmill.imaging.values import EncodedValue, ImageValue
from pixmill.ml import dncnn
from pixmill.ml.model_files import MLSetup
from tests import images


def crop(path: Path, size: int = 96, left: int = 150, top: int = 100) -> np.ndarray:
    """A size x size crop of a test image as float pixels in [0, 1]."""
    im = Image.open(path)
    return np.asarray(im.crop((left, top, left + size, top + size)), dtype=np.float32) / 255


def add_noise(clean: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    return (clean + np.random.default_rng(seed).normal(0, sigma / 255, clean.shape)).astype(np.float32)


def to_8bit(pixels: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(pixels * 255), 0, 255).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / mse))


def run_op(image: Image.Image, models_dir: Path, **params: object) -> Image.Image:
    out = denoise(
        [ImageValue(image, "PNG")], DenoiseParams.model_validate(params), RunContext(resources=(MLSetup(models_dir),))
    )
    assert isinstance(out, ImageValue)
    return out.image


@pytest.fixture
def colour_crop(testsets: Path) -> np.ndarray:
    return crop(testsets / "CBSD68" / "101085.png")


@pytest.fixture
def grey_crop(testsets: Path) -> np.ndarray:
    return crop(testsets / "Set12" / "04.png", size=96, left=60, top=60)


def model(models_dir: Path, name: str) -> dncnn.DnCNN:
    return dncnn.load_model(models_dir / "dncnn" / f"{name}.pth")


def test_winograd_matrices_compute_a_3_tap_correlation() -> None:
    at, g, bt = dncnn.winograd_matrices()
    rng = np.random.default_rng(0)
    d, k = rng.normal(size=8), rng.normal(size=3)
    expected = [sum(k[j] * d[i + j] for j in range(3)) for i in range(6)]
    assert np.allclose(at @ ((g @ k) * (bt @ d)), expected, atol=1e-12)


@pytest.mark.parametrize(("name", "depth", "channels"), [("dncnn_color_blind", 20, 3), ("dncnn_25", 17, 1)])
def test_the_network_is_read_from_the_state_dict(models_dir: Path, name: str, depth: int, channels: int) -> None:
    m = model(models_dir, name)
    assert (m.depth, m.channels, m.features) == (depth, channels, 64)
    assert model(models_dir, name) is m  # loaded once per process


def plain_forward(state: dict[str, torch.Tensor], noisy: np.ndarray) -> np.ndarray:
    """noisy - net(noisy) by a plain nn.Sequential in NCHW, for [h, w] or [h, w, c] pixels."""
    x = torch.from_numpy(noisy.reshape(*noisy.shape[:2], -1)).permute(2, 0, 1)[None]
    with torch.no_grad():
        return (x - dncnn.build_sequential(state)(x))[0].permute(1, 2, 0).numpy().reshape(noisy.shape)


def test_the_compiled_engine_is_built_and_taken_on_the_cpu() -> None:
    # the test install compiles pixmill.ml._winograd; without it denoise would quietly run ~2x slower
    assert dncnn.compiled_kernel() is not None
    assert dncnn.engine("cpu") == "compiled"
    assert dncnn.engine("cuda") == "torch"


@pytest.mark.parametrize("use", ["compiled", "torch"])
@pytest.mark.parametrize("name", ["dncnn_color_blind", "dncnn_gray_blind"])
def test_each_engine_matches_a_plain_pytorch_forward(
    models_dir: Path, name: str, use: dncnn.Engine, colour_crop: np.ndarray
) -> None:
    clean = colour_crop if name == "dncnn_color_blind" else colour_crop.mean(axis=2)
    noisy = add_noise(clean[:70, :83], 25)  # sizes that are not multiples of the Winograd tile
    state = torch.load(models_dir / "dncnn" / f"{name}.pth", weights_only=True)
    got = dncnn.denoise(model(models_dir, name), noisy, use=use)
    assert np.abs(got - plain_forward(state, noisy)).max() <= 1e-4


@pytest.mark.parametrize(("height", "width"), [(1, 1), (5, 7), (6, 6), (13, 1), (2, 40), (61, 19), (70, 83)])
def test_the_compiled_engine_handles_any_size(height: int, width: int) -> None:
    # a random net whose channel counts are not multiples of the kernel's 16 lanes, on awkward image sizes
    gen = torch.Generator().manual_seed(height * 100 + width)
    sizes = [2, 20, 37, 2]
    state = {}
    for n, (c_in, c_out) in enumerate(itertools.pairwise(sizes)):  # scaled so activations stay near 1
        state[f"model.{2 * n}.weight"] = torch.randn(c_out, c_in, 3, 3, generator=gen) * (2 / (9 * c_in)) ** 0.5
        state[f"model.{2 * n}.bias"] = torch.randn(c_out, generator=gen) * 0.1
    noisy = np.random.default_rng(0).random((height, width, 2), dtype=np.float32)
    got = dncnn.denoise(dncnn.from_state_dict(state), noisy, use="compiled")
    assert np.abs(got - plain_forward(state, noisy)).max() <= 1e-4


def test_the_compiled_engine_gives_the_same_bytes_every_run(models_dir: Path, colour_crop: np.ndarray) -> None:
    noisy = add_noise(colour_crop, 25)
    m = model(models_dir, "dncnn_color_blind")
    first = dncnn.denoise(m, noisy, use="compiled")
    assert all(dncnn.denoise(m, noisy, use="compiled").tobytes() == first.tobytes() for _ in range(3))


def test_the_compiled_kernel_gives_the_same_bytes_on_any_number_of_threads(models_dir: Path, testsets: Path) -> None:
    # more threads than CPUs: they get preempted mid-chunk, so others take over their chunks and both write
    kernel = dncnn.compiled_kernel()
    assert kernel is not None
    m = model(models_dir, "dncnn_color_blind")
    x = add_noise(crop(testsets / "CBSD68" / "101085.png", size=160, left=0, top=0), 25)
    biases = [b for _, b in m.convs]
    outputs = []
    for threads, stripe in [(1, 1), (2, 1), (9, 1), (16, 3)]:
        out = np.empty_like(x)
        kernel.forward(x, out, m.winograd, biases, threads, stripe)
        outputs.append(out.tobytes())
    assert len(set(outputs)) == 1


def test_the_compiled_kernel_refuses_bad_buffers(models_dir: Path) -> None:
    kernel = dncnn.compiled_kernel()
    assert kernel is not None
    m = model(models_dir, "dncnn_color_blind")
    biases = [b for _, b in m.convs]
    x = np.zeros((12, 12, 3), np.float32)
    with pytest.raises(ValueError, match="out must be"):
        kernel.forward(x, np.zeros((12, 12, 1), np.float32), m.winograd, biases, 1, 1)
    with pytest.raises(ValueError, match="c_in the channels before it"):
        kernel.forward(x[:, :, :1].copy(), np.zeros((12, 12, 1), np.float32), m.winograd, biases, 1, 1)
    with pytest.raises(TypeError, match="float32"):
        kernel.forward(x.astype(np.float64), np.zeros_like(x), m.winograd, biases, 1, 1)
    with pytest.raises(ValueError, match="same number of layers"):
        kernel.forward(x, np.zeros_like(x), m.winograd, biases[:-1], 1, 1)
    with pytest.raises(ValueError, match="threads must be"):
        kernel.forward(x, np.zeros_like(x), m.winograd, biases, 0, 1)


def test_denoising_a_noisy_colour_crop_raises_psnr(models_dir: Path, colour_crop: np.ndarray) -> None:
    clean = to_8bit(colour_crop)
    noisy = to_8bit(add_noise(colour_crop, 25))
    out = np.asarray(run_op(Image.fromarray(noisy), models_dir))
    assert psnr(out, clean) > psnr(noisy, clean) + 6


def test_denoising_a_noisy_grey_crop_raises_psnr(models_dir: Path, grey_crop: np.ndarray) -> None:
    clean = to_8bit(grey_crop)
    noisy = Image.fromarray(to_8bit(add_noise(grey_crop, 25)))
    out = run_op(noisy, models_dir)  # auto: the grayscale blind model
    assert out.mode == "L"
    assert psnr(np.asarray(out), clean) > psnr(np.asarray(noisy), clean) + 6


@pytest.mark.parametrize("use", ["compiled", "torch"])
@pytest.mark.parametrize("name", ["dncnn_color_blind", "dncnn_gray_blind"])
def test_tiled_and_whole_image_results_agree(models_dir: Path, testsets: Path, name: str, use: dncnn.Engine) -> None:
    clean = crop(testsets / "CBSD68" / "101085.png", size=128)
    noisy = add_noise(clean if name == "dncnn_color_blind" else clean.mean(axis=2), 25)
    m = model(models_dir, name)
    whole = dncnn.denoise(m, noisy, tile=4096, use=use)
    tiled = dncnn.denoise(m, noisy, tile=40, use=use)  # tiles of 32 px, each read with 24 px around it
    assert np.abs(tiled - whole).max() * 255 < 0.5


def test_the_compiled_engine_cuts_long_runs_of_rows_too(
    models_dir: Path, testsets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    noisy = add_noise(crop(testsets / "CBSD68" / "101085.png", size=128), 25)
    m = model(models_dir, "dncnn_color_blind")
    whole = dncnn.denoise(m, noisy, use="compiled")
    monkeypatch.setattr(dncnn, "STRIP_HEIGHT", 40)
    checks: list[int] = []
    cut = dncnn.denoise(m, noisy, tile=64, check=lambda: checks.append(1), use="compiled")
    assert len(checks) == 4 * 2  # 4 pieces of 32 rows in each of 2 strips, the deadline checked before each
    assert np.abs(cut - whole).max() * 255 < 0.5


def test_a_tile_size_is_accepted_by_the_operation(models_dir: Path, colour_crop: np.ndarray) -> None:
    noisy = Image.fromarray(to_8bit(add_noise(colour_crop, 25)))
    whole = np.asarray(run_op(noisy, models_dir), dtype=int)
    tiled = np.asarray(run_op(noisy, models_dir, tile=32), dtype=int)
    assert np.abs(whole - tiled).max() <= 1  # the same up to the rounding of a few pixels


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_preserved(models_dir: Path, colour_crop: np.ndarray, mode: str) -> None:
    noisy = Image.fromarray(to_8bit(add_noise(colour_crop, 25))).convert(mode[:-1])
    alpha = Image.linear_gradient("L").resize(noisy.size)
    source = Image.merge(mode, [*noisy.split(), alpha])
    out = run_op(source, models_dir)
    assert out.mode == mode and out.size == source.size
    assert out.getchannel("A").tobytes() == alpha.tobytes()
    assert out.convert(mode[:-1]).tobytes() != noisy.tobytes()


def test_strength_0_returns_the_input_and_strength_blends(models_dir: Path, colour_crop: np.ndarray) -> None:
    noisy = Image.fromarray(to_8bit(add_noise(colour_crop, 25)))
    assert run_op(noisy, models_dir, strength=0).tobytes() == noisy.tobytes()
    full = np.asarray(run_op(noisy, models_dir), dtype=float)
    half = np.asarray(run_op(noisy, models_dir, strength=0.5), dtype=float)
    assert np.abs(half - (full + np.asarray(noisy)) / 2).max() <= 1


def test_a_grayscale_model_on_a_colour_image_denoises_each_channel(models_dir: Path, colour_crop: np.ndarray) -> None:
    clean = to_8bit(colour_crop)
    noisy = to_8bit(add_noise(colour_crop, 25))
    out = run_op(Image.fromarray(noisy), models_dir, model="dncnn_25")
    assert out.mode == "RGB"
    per_channel = dncnn.denoise(model(models_dir, "dncnn_25"), noisy[:, :, 1] / np.float32(255))
    assert np.abs(np.asarray(out)[:, :, 1].astype(int) - to_8bit(per_channel)).max() <= 1
    assert psnr(np.asarray(out), clean) > psnr(noisy, clean) + 5


def test_the_colour_model_refuses_a_grey_image(models_dir: Path, grey_crop: np.ndarray) -> None:
    noisy = Image.fromarray(to_8bit(add_noise(grey_crop, 25)))
    with pytest.raises(InvalidPipeline, match="use model auto or gray_blind") as err:
        run_op(noisy, models_dir, model="color_blind")
    assert err.value.errors[0]["field"] == "params.model"


def test_a_missing_model_names_the_file(tmp_path: Path) -> None:
    image = images.quadrants(64, 48)
    with pytest.raises(OperationUnavailable, match=re.escape("dncnn/dncnn_color_blind.pth")):
        run_op(image, tmp_path)
    with pytest.raises(OperationUnavailable, match=re.escape("dncnn/dncnn_gray_blind.pth")):
        run_op(image.convert("L"), tmp_path)
    with pytest.raises(OperationUnavailable, match=re.escape("dncnn/dncnn_50.pth")):
        run_op(image, tmp_path, model="dncnn_50")


def test_without_torch_the_operation_says_which_extra_to_install(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(OperationUnavailable, match=r"pip install 'pixmill\[ml\]'"):
        run_op(images.quadrants(64, 48), models_dir)


def test_denoise_runs_in_a_pipeline_on_the_ml_queue(models_dir: Path, colour_crop: np.ndarray) -> None:
    op = get_operation("denoise")
    assert op is not None and op.queue == "ml"
    clean = to_8bit(colour_crop)
    noisy = to_8bit(add_noise(colour_crop, 25))
    p = parse_pipeline([{"op": "denoise", "params": {"tile": 64}}, {"op": "convert", "params": {"format": "png"}}])
    (out,) = run_pipeline(
        p, images.encode(Image.fromarray(noisy), "PNG"), RunContext(resources=(MLSetup(models_dir),))
    ).outputs
    assert isinstance(out.value, EncodedValue) and out.value.format == "PNG"
    result = np.asarray(Image.open(io.BytesIO(out.value.data)).convert("RGB"))
    assert result.shape == clean.shape
    assert psnr(result, clean) > psnr(noisy, clean) + 6


def test_unknown_models_and_bad_tiles_are_refused_when_the_pipeline_is_parsed() -> None:
    with pytest.raises(InvalidPipeline):
        parse_pipeline([{"op": "denoise", "params": {"model": "dncnn_35"}}])
    with pytest.raises(InvalidPipeline):
        parse_pipeline([{"op": "denoise", "params": {"tile": 8}}])


def test_concurrent_calls_share_the_workers_and_agree(models_dir: Path, colour_crop: np.ndarray) -> None:
    from concurrent.futures import ThreadPoolExecutor

    m = model(models_dir, "dncnn_color_blind")
    inputs = [add_noise(colour_crop, 25, seed) for seed in range(4)]
    alone = [dncnn.denoise(m, x, tile=48) for x in inputs]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda x: dncnn.denoise(m, x, tile=48), inputs))
    for a, b in zip(alone, together, strict=True):
        assert np.abs(a - b).max() < 1e-5
