"""Where ML inference runs: the CPU, or a CUDA GPU when one is present (PIXMILL_ML_DEVICE).

`auto` (the default) takes a GPU when torch sees one and the CPU otherwise; `cpu` never touches a GPU; `cuda`
requires one and says so when there is none. The name a step resolves to is what it runs on:
- denoise: torch on the GPU, or on the CPU pixmill's compiled Winograd kernel (torch's convolutions where
  that kernel is not built);
- detect / YOLOX and upscale / FSRCNN, ESPCN: onnxruntime's CUDA provider when the installed onnxruntime has it
  (onnxruntime-gpu) and the setting is not cpu, else its CPU provider;
- YuNet faces: OpenCV's DNN module on the CPU (the opencv-python-headless wheels are built without CUDA).
"""

from __future__ import annotations

from typing import Literal

from pixmill.ml.errors import ModelUnavailable

DeviceSetting = Literal["auto", "cpu", "cuda"]
Device = Literal["cpu", "cuda"]


def cuda_available() -> bool:
    """Whether torch is installed and sees a CUDA GPU."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def resolve(setting: str) -> Device:
    """The device a setting means here: auto takes a GPU when torch sees one."""
    if setting == "cpu":
        return "cpu"
    if setting == "cuda":
        if not cuda_available():
            raise ModelUnavailable(
                "PIXMILL_ML_DEVICE is cuda but torch sees no CUDA GPU here: install a CUDA build of torch "
                "on a machine with a GPU, or set PIXMILL_ML_DEVICE to auto or cpu"
            )
        return "cuda"
    if setting == "auto":
        return "cuda" if cuda_available() else "cpu"
    raise ValueError(f"unknown ML device {setting!r}: use auto, cpu or cuda")


def onnx_providers(setting: str, available: list[str]) -> list[str]:
    """onnxruntime execution providers for a device setting, from those the installed onnxruntime has: its CUDA
    provider unless the setting is cpu (asked without torch, which detection does not otherwise need)."""
    if setting != "cpu" and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]
