"""Where inference runs: PIXMILL_ML_DEVICE resolved, the engines it picks, and what `pixmill models` says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.errors import OperationUnavailable
from pixmill.imaging.ops.denoise import DenoiseParams, denoise
from pixmill.imaging.values import ImageValue
from pixmill.ml import dncnn
from pixmill.ml.device import onnx_providers, resolve
from pixmill.ml.errors import ModelUnavailable
from pixmill.ml.model_files import MLSetup
from tests import images

GPU = torch.cuda.is_available()


def test_cpu_is_always_the_cpu_and_auto_takes_a_gpu_only_when_torch_sees_one() -> None:
    assert resolve("cpu") == "cpu"
    assert resolve("auto") == ("cuda" if GPU else "cpu")


def test_cuda_without_a_gpu_says_so_and_with_one_is_taken() -> None:
    if GPU:
        assert resolve("cuda") == "cuda"
    else:
        with pytest.raises(ModelUnavailable, match="PIXMILL_ML_DEVICE is cuda but torch sees no CUDA GPU"):
            resolve("cuda")


def test_an_unknown_device_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown ML device 'tpu'"):
        resolve("tpu")


def test_onnxruntime_takes_its_cuda_provider_only_where_it_has_one_and_it_is_not_refused() -> None:
    gpu_build = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert onnx_providers("auto", gpu_build) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert onnx_providers("cuda", gpu_build) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert onnx_providers("cpu", gpu_build) == ["CPUExecutionProvider"]
    assert onnx_providers("auto", ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]


def test_the_torch_engine_runs_on_the_resolved_device(models_dir: Path) -> None:
    m = dncnn.load_model(models_dir / "dncnn" / "dncnn_gray_blind.pth")
    noisy = np.random.default_rng(0).random((30, 40), dtype=np.float32)
    device = resolve("auto")
    on_device = dncnn.denoise(m, noisy, device=device, use="torch")
    assert np.abs(on_device - dncnn.denoise(m, noisy, use="compiled")).max() <= 1e-4
    assert str(next(m.sequential(device).parameters()).device).startswith(device)


def test_the_compiled_engine_is_refused_off_the_cpu(models_dir: Path) -> None:
    m = dncnn.load_model(models_dir / "dncnn" / "dncnn_gray_blind.pth")
    with pytest.raises(ModelUnavailable, match="runs on the CPU"):
        dncnn.denoise(m, np.zeros((8, 8), np.float32), device="cuda", use="compiled")


def test_denoise_on_cuda_runs_there_or_fails_naming_the_setting(models_dir: Path) -> None:
    source = ImageValue(images.quadrants(64, 48), "PNG")
    ctx = RunContext(resources=(MLSetup(models_dir, "cuda"),))
    if GPU:
        out = denoise([source], DenoiseParams(), ctx)
        assert isinstance(out, ImageValue) and out.image.size == (64, 48)
    else:
        with pytest.raises(OperationUnavailable, match="PIXMILL_ML_DEVICE"):
            denoise([source], DenoiseParams(), ctx)


def test_pixmill_models_lists_the_files_and_where_inference_runs(models_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PIXMILL_MODELS_DIR": str(models_dir), "PIXMILL_DATA_DIR": str(tmp_path)}
    env.pop("PIXMILL_ML_DEVICE", None)
    result = subprocess.run(
        [sys.executable, "-m", "pixmill", "models"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "installed  dncnn_color_blind" in result.stdout
    expected = "auto -> cuda; denoise runs on torch on the GPU" if GPU else "auto -> cpu; denoise runs on compiled"
    assert expected in result.stdout


def test_a_colour_image_denoised_through_the_operation_is_the_engine_s_result(models_dir: Path) -> None:
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (40, 52, 3), dtype=np.uint8)
    out = denoise(
        [ImageValue(Image.fromarray(pixels), "PNG")], DenoiseParams(), RunContext(resources=(MLSetup(models_dir),))
    )
    assert isinstance(out, ImageValue)
    m = dncnn.load_model(models_dir / "dncnn" / "dncnn_color_blind.pth")
    direct = dncnn.denoise(m, pixels / np.float32(255), device=resolve("auto"))
    expected = np.clip(np.rint(direct * 255), 0, 255).astype(np.uint8)
    assert np.array_equal(np.asarray(out.image), expected)


def test_device_settings_that_mean_the_same_providers_share_one_onnx_session(models_dir: Path) -> None:
    import onnxruntime

    from pixmill.ml.objects import session

    model = models_dir / "yolox" / "yolox_nano.onnx"
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        assert session(model, "auto") is not session(model, "cpu")
    else:
        assert session(model, "auto") is session(model, "cpu")
    assert session(model, "cpu").get_providers() == ["CPUExecutionProvider"]


def test_pixmill_models_prints_the_exact_fix_for_each_missing_or_wrong_file(tmp_path: Path) -> None:
    models = tmp_path / "models"
    (models / "sr").mkdir(parents=True)
    (models / "sr" / "FSRCNN_x2.onnx").write_bytes(b"not a model")
    env = {**os.environ, "PIXMILL_MODELS_DIR": str(models), "PIXMILL_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "pixmill", "models"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    yolox = lines.index(next(line for line in lines if line.startswith("missing    yolox_nano")))
    assert lines[yolox + 1].strip().startswith("fix: put yolox_nano.onnx of opencv/opencv_zoo")
    assert f"at {models}/yolox/yolox_nano.onnx" in lines[yolox + 1]
    assert "sha256 c789161ed43c8269fcd4e67c67eeeb4e80c622da2eb296a20bc6007bd18a0b7d" in lines[yolox + 1]
    fsrcnn = lines.index(next(line for line in lines if line.startswith("corrupt    fsrcnn_x2")))
    assert f"fix: {models}/sr/FSRCNN_x2.onnx is not the expected file; replace it" in lines[fsrcnn + 1]
    assert sum(line.strip().startswith("fix: ") for line in lines) == 13  # every file of the manifest
    assert "ML packages: torch, onnxruntime and OpenCV are installed" in lines

    env["PIXMILL_MODELS_DIR"] = str(tmp_path / "nowhere")
    result = subprocess.run(
        [sys.executable, "-m", "pixmill", "models"], env=env, capture_output=True, text=True, timeout=120
    )
    assert f"fix: mkdir -p {tmp_path / 'nowhere'} and put the files below in it" in result.stdout
