"""onnxruntime sessions, one per model file and set of execution providers in a process, shared by the
networks that run on it (YOLOX objects, FSRCNN/ESPCN super-resolution)."""

from __future__ import annotations

import importlib
import os
import threading
from pathlib import Path
from typing import Any

from pixmill.ml.device import onnx_providers
from pixmill.ml.errors import ModelUnavailable

# Threads one inference may use: a few, never more than the machine has.
THREADS = max(1, min(4, os.cpu_count() or 1))

_sessions: dict[tuple[str, tuple[str, ...]], Any] = {}
_lock = threading.Lock()


def onnxruntime(purpose: str) -> Any:
    """The onnxruntime module, or ModelUnavailable saying that `purpose` needs the ml extra."""
    try:
        return importlib.import_module("onnxruntime")
    except ImportError:
        raise ModelUnavailable(
            f"{purpose} needs onnxruntime, part of the ml extra: pip install 'pixmill[ml]'"
        ) from None


def session(model: Path, device: str = "cpu", *, purpose: str = "this operation") -> Any:
    """The process's one inference session for `model` on the device setting `device` (auto, cpu or cuda; an
    InferenceSession runs safely from several threads). A file onnxruntime cannot load is ModelUnavailable."""
    with _lock:
        ort = onnxruntime(purpose)
        providers = tuple(onnx_providers(device, ort.get_available_providers()))
        key = (str(model), providers)  # settings that mean the same providers share one session
        if key not in _sessions:
            options = ort.SessionOptions()
            options.intra_op_num_threads = THREADS
            options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.log_severity_level = 3
            try:
                _sessions[key] = ort.InferenceSession(key[0], sess_options=options, providers=list(providers))
            except Exception as exc:  # onnxruntime raises its own types (InvalidProtobuf, Fail, NoSuchFile …)
                raise ModelUnavailable(f"the model {model} cannot be loaded by onnxruntime: {exc}") from None
        return _sessions[key]
