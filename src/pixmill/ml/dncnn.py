"""DnCNN denoising (Zhang, Zuo, Chen, Meng, Zhang, "Beyond a Gaussian Denoiser", IEEE TIP 2017).

The network is rebuilt from its state_dict: a stack of 3x3 convolutions (padding 1, with bias) with a ReLU
between them; depth and channel counts are read from the keys `model.N.weight`. It predicts the noise, so
the denoised image is `noisy - net(noisy)`, on float32 pixels in [0, 1] (not clipped).

Two engines run it (`engine()` says which one a call gets):
- compiled (the CPU's): pixmill.ml._winograd, a C extension built at install. Every convolution is a Winograd
  F(6x6, 3x3) product (64 multiplications per 6x6 output block and channel pair instead of 324), its
  transforms, matrix products, bias and ReLU fused per group of tiles so the data stays in the core's cache.
  The image streams through all the layers in stripes of rows: each layer keeps only the few rows the next
  one still needs, so memory is bounded by the width, not the height. One thread per CPU shares each layer,
  and a thread that waits too long for a chunk of tiles another one holds (preempted by another process, say)
  computes it itself, so a busy CPU slows the whole less. The results match a plain `nn.Conv2d` stack within
  a few 1e-6 (float32 rounding), and are the same bytes from run to run and for any number of threads (each
  tile's arithmetic does not depend on which thread does it).
- torch: the same weights as `nn.Sequential` under inference mode, on a CUDA GPU when one is asked for
  (pixmill.ml.device), or on the CPU in channels-last layout where the C extension could not be built.

Images are processed in tiles, each computed with `margin` pixels of context on every side and only its central
part kept: the receptive field of 20 convolutions reaches 20 px, so with a margin of 24 (or depth + 4 for a
deeper network) the kept part is what the whole image gives, up to float rounding. The compiled engine streams
rows, so it cuts columns (DEFAULT_STRIP wide) and only long runs of rows (STRIP_HEIGHT, for the deadline
checks between tiles); torch cuts squares (DEFAULT_TILE).

torch is imported inside the functions: the rest of pixmill imports without the `ml` extra.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from math import prod
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Literal

import numpy as np

from pixmill.ml.device import Device
from pixmill.ml.errors import ModelUnavailable

if TYPE_CHECKING:
    import torch
    from torch import nn

ML_EXTRA_MESSAGE = "denoise needs the ml extra: pip install 'pixmill[ml]'"

MARGIN = 24  # px of context read around every tile (the receptive field of 20 layers reaches 20 px)
DEFAULT_TILE = 768  # torch: side of the square each tile outputs (two 816x816x64 float32 activations, 340 MB)
DEFAULT_STRIP = 1024  # compiled: width of the column strips (about 30 MB of buffers for DnCNN)
STRIP_HEIGHT = 2048  # compiled: rows of a strip's piece, so the deadline is checked every 2 MP or so
STRIPE_ROWS = 1  # compiled: rows of 6x6 tiles each layer makes per step

# Winograd F(M x M, 3 x 3): each tile of N x N inputs gives M x M outputs. The interpolation points are the
# usual well-conditioned ones (0, ±1, ±2, ±1/2 and infinity); _winograd.c writes its transforms out for them.
_M = 6
_N = _M + 2
_POINTS = (Fraction(0), Fraction(1), Fraction(-1), Fraction(2), Fraction(-2), Fraction(1, 2), Fraction(-1, 2))
_LANES = 16  # the C kernel's vector width: output channels are padded to a multiple of it

_KEY = re.compile(r"model\.(\d+)\.(weight|bias)")

Engine = Literal["compiled", "torch"]


def require_torch() -> None:
    """Raise ModelUnavailable when torch (the `ml` extra) is not installed."""
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise ModelUnavailable(ML_EXTRA_MESSAGE) from exc


def compiled_kernel() -> ModuleType | None:
    """The C extension, or None where it was not built (no C compiler at install)."""
    try:
        from pixmill.ml import _winograd
    except ImportError:
        return None
    return _winograd


def engine(device: Device = "cpu") -> Engine:
    """The engine a denoise call on `device` gets."""
    return "compiled" if device == "cpu" and compiled_kernel() is not None else "torch"


def _poly(roots: list[Fraction]) -> list[Fraction]:
    """Coefficients of prod(x - r), lowest power first."""
    coeffs = [Fraction(1)]
    for r in roots:
        shifted = [Fraction(0), *coeffs]
        coeffs = [s - r * c for s, c in zip(shifted, [*coeffs, Fraction(0)], strict=True)]
    return coeffs


def winograd_matrices(m: int = _M, points: tuple[Fraction, ...] = _POINTS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AT (m x n), G (n x 3) and BT (n x n) of Winograd F(m, 3), n = m + 2, built from `points` plus infinity.

    For a 1-D signal d of n samples and a 3-tap kernel g: AT @ ((G @ g) * (BT @ d)) = y with
    y[i] = sum_k g[k] * d[i + k] (correlation, as nn.Conv2d computes). In 2-D the transforms apply on both sides.
    """
    n = m + 2
    if len(points) != n - 1:
        raise ValueError(f"F({m}, 3) needs {n - 1} finite points")
    at, g, bt = np.zeros((m, n)), np.zeros((n, 3)), np.zeros((n, n))
    for k, a in enumerate(points):
        others = [b for j, b in enumerate(points) if j != k]
        norm = prod((a - b for b in others), start=Fraction(1))
        at[:, k] = [float(a**i) for i in range(m)]
        g[k] = [float(a**j / norm) for j in range(3)]
        bt[k, : n - 1] = [float(c) for c in _poly(others)]
    at[m - 1, n - 1] = 1.0
    g[n - 1, 2] = 1.0
    bt[n - 1] = [float(c) for c in _poly(list(points))]
    return at, g, bt


def winograd_weights(weight: np.ndarray) -> np.ndarray:
    """A [out, in, 3, 3] kernel in the Winograd domain, as the C kernel takes it: [64, in, out rounded up to 16].

    Point q * 8 + p (p: the row point, q: the column point) holds G w G^T, computed in float64.
    """
    _, g, _ = winograd_matrices()
    out_ch, in_ch = weight.shape[:2]
    u = np.einsum("pr,ocrs,qs->qpco", g, weight.astype(np.float64), g).reshape(_N * _N, in_ch, out_ch)
    padded = np.zeros((_N * _N, in_ch, -(-out_ch // _LANES) * _LANES), dtype=np.float32)
    padded[:, :, :out_ch] = u
    return padded


@dataclass(frozen=True, eq=False)
class DnCNN:
    """A loaded DnCNN: its convolutions in order and, for the compiled engine, their Winograd-domain weights."""

    convs: tuple[tuple[np.ndarray, np.ndarray], ...]  # (weight [out, in, 3, 3], bias [out]) per layer, float32
    winograd: tuple[np.ndarray, ...]  # per layer, winograd_weights(weight)
    # nn.Sequential per torch device, built when first used there
    _modules: dict[str, nn.Sequential] = field(default_factory=dict, repr=False)

    @property
    def depth(self) -> int:
        return len(self.convs)

    @property
    def channels(self) -> int:
        """Image channels in and out: 3 for colour models, 1 for grayscale ones."""
        return int(self.convs[0][0].shape[1])

    @property
    def features(self) -> int:
        return int(self.convs[0][0].shape[0])

    @property
    def margin(self) -> int:
        """Pixels of context a tile needs on every side: more than the receptive field's reach (depth px)."""
        return max(MARGIN, self.depth + 4)

    def sequential(self, device: str) -> nn.Sequential:
        """The network as nn.Sequential on `device` (built once per device)."""
        with _lock:
            module = self._modules.get(device)
            if module is None:
                import torch

                state = {}
                for n, (weight, bias) in enumerate(self.convs):
                    state[f"model.{2 * n}.weight"] = torch.from_numpy(weight)
                    state[f"model.{2 * n}.bias"] = torch.from_numpy(bias)
                module = build_sequential(state).to(device)
                if device == "cpu":
                    module = module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
                self._modules[device] = module
        return module


def conv_layers(state_dict: Mapping[str, torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The (weight, bias) of each convolution, in order, checked to form a DnCNN with a residual output."""
    indices: dict[int, set[str]] = {}
    for key in state_dict:
        match = _KEY.fullmatch(key)
        if match is None:
            raise ValueError(f"unexpected key {key!r} in a DnCNN state_dict (expected model.N.weight / model.N.bias)")
        indices.setdefault(int(match[1]), set()).add(match[2])
    if not indices:
        raise ValueError("the state_dict has no convolution")
    layers = []
    previous: int | None = None
    for i in sorted(indices):
        if indices[i] != {"weight", "bias"}:
            raise ValueError(f"convolution model.{i} needs both a weight and a bias")
        weight, bias = state_dict[f"model.{i}.weight"].float(), state_dict[f"model.{i}.bias"].float()
        out_ch, in_ch, kh, kw = weight.shape
        if (kh, kw) != (3, 3) or tuple(bias.shape) != (out_ch,):
            raise ValueError(f"model.{i} is not a 3x3 convolution with bias")
        if previous is not None and in_ch != previous:
            raise ValueError(f"model.{i} takes {in_ch} channels but the layer before gives {previous}")
        previous = out_ch
        layers.append((weight.contiguous(), bias.contiguous()))
    if layers[0][0].shape[1] != layers[-1][0].shape[0]:
        raise ValueError("the last layer must give as many channels as the image has (residual output)")
    return layers


def build_sequential(state_dict: Mapping[str, torch.Tensor]) -> nn.Sequential:
    """The plain network as nn.Sequential (Conv2d 3x3 padding 1, ReLU between), weights loaded, eval mode."""
    from torch import nn

    modules: list[nn.Module] = []
    layers = conv_layers(state_dict)
    for n, (weight, bias) in enumerate(layers):
        conv = nn.Conv2d(weight.shape[1], weight.shape[0], 3, padding=1, bias=True)
        conv.weight.data.copy_(weight)
        assert conv.bias is not None
        conv.bias.data.copy_(bias)
        modules.append(conv)
        if n < len(layers) - 1:
            modules.append(nn.ReLU(inplace=True))
    return nn.Sequential(*modules).eval().requires_grad_(False)


def from_state_dict(state_dict: Mapping[str, torch.Tensor]) -> DnCNN:
    """A DnCNN from its state_dict, with its Winograd-domain weights computed once (in float64)."""
    convs = tuple((w.numpy().copy(), b.numpy().copy()) for w, b in conv_layers(state_dict))
    return DnCNN(convs, tuple(winograd_weights(w) for w, _ in convs))


_cache: dict[str, DnCNN] = {}
# Guards the caches; also makes compiled forwards run one at a time per process: each uses every CPU, so two at
# once would only fight over them.
_lock = threading.Lock()
_forward_lock = threading.Lock()


def _after_fork_in_child() -> None:
    """A forked child (a prefork worker) must not inherit a lock some thread of the parent held."""
    global _lock, _forward_lock
    _lock, _forward_lock = threading.Lock(), threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def cpu_count() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def load_model(path: Path) -> DnCNN:
    """The DnCNN stored at `path` (a state_dict), loaded once per process and path."""
    require_torch()
    import torch

    key = str(Path(path).resolve())
    with _lock:
        model = _cache.get(key)
    if model is None:
        loaded = from_state_dict(torch.load(key, map_location="cpu", weights_only=True))
        with _lock:
            model = _cache.setdefault(key, loaded)
    return model


def _spans(size: int, tile: int) -> list[tuple[int, int]]:
    """[start, end) ranges of near-equal length at most `tile` covering 0..size."""
    count = -(-size // tile)
    step = -(-size // count)
    return [(start, min(size, start + step)) for start in range(0, size, step)]


def _compiled_residual(model: DnCNN, x: np.ndarray) -> np.ndarray:
    """net(x) for x [h, w, channels] on the CPU, with the C kernel."""
    kernel = compiled_kernel()
    assert kernel is not None
    out = np.empty_like(x)
    biases = [bias for _, bias in model.convs]
    # no more threads than a stripe has chunks of tiles to share (nor than the kernel takes)
    tiles = -(-x.shape[1] // _M) * STRIPE_ROWS
    chunks = -(-tiles // kernel.CHUNK_TILES)
    with _forward_lock:
        kernel.forward(x, out, model.winograd, biases, max(1, min(cpu_count(), chunks, 64)), STRIPE_ROWS)
    return out


def _torch_residual(model: DnCNN, x: np.ndarray, device: str) -> np.ndarray:
    """net(x) for x [h, w, channels] with torch on `device`."""
    import torch

    net = model.sequential(device)
    tensor = torch.from_numpy(x).permute(2, 0, 1)[None]  # NCHW view of the channels-last pixels
    with torch.inference_mode():
        if device == "cpu":
            if torch.get_num_threads() != cpu_count():
                torch.set_num_threads(cpu_count())
            result = net(tensor.contiguous(memory_format=torch.channels_last))
        else:
            result = net(tensor.to(device))
        return result[0].permute(1, 2, 0).to("cpu").numpy()


def denoise(
    model: DnCNN,
    image: np.ndarray,
    tile: int | None = None,
    check: Callable[[], None] | None = None,
    device: Device = "cpu",
    use: Engine | None = None,
) -> np.ndarray:
    """`image - net(image)` for float pixels in [0, 1] (not clipped), [h, w] or [h, w, channels].

    The image is processed in tiles whose central part (at most `tile` px: the strip width on the compiled
    engine, DEFAULT_STRIP by default; the square's side on torch, DEFAULT_TILE) is kept; `check` is called
    before every tile (a deadline check, say). `use` picks the engine (default: `engine(device)`).
    """
    require_torch()
    pixels = np.asarray(image, dtype=np.float32)
    flat = pixels.ndim == 2
    if flat:
        pixels = pixels[:, :, None]
    if pixels.ndim != 3 or pixels.shape[2] != model.channels:
        raise ValueError(f"this model takes images with {model.channels} channel(s), got shape {image.shape}")
    if tile is not None and tile < 1:
        raise ValueError("tile must be at least 1 px")
    chosen = use or engine(device)
    if chosen == "compiled" and (device != "cpu" or compiled_kernel() is None):
        raise ModelUnavailable("the compiled DnCNN engine runs on the CPU and needs pixmill's C extension")
    h, w, _ = pixels.shape
    out = np.empty_like(pixels)
    if chosen == "compiled":
        rows, columns = _spans(h, STRIP_HEIGHT), _spans(w, tile or DEFAULT_STRIP)
    else:
        rows, columns = _spans(h, tile or DEFAULT_TILE), _spans(w, tile or DEFAULT_TILE)
    for y0, y1 in rows:
        for x0, x1 in columns:
            if check is not None:
                check()
            a0, a1 = max(0, y0 - model.margin), min(h, y1 + model.margin)
            b0, b1 = max(0, x0 - model.margin), min(w, x1 + model.margin)
            window = np.ascontiguousarray(pixels[a0:a1, b0:b1])
            if chosen == "compiled":
                noise = _compiled_residual(model, window)
            else:
                noise = _torch_residual(model, window, device)
            np.subtract(pixels[y0:y1, x0:x1], noise[y0 - a0 : y1 - a0, x0 - b0 : x1 - b0], out=out[y0:y1, x0:x1])
    return out[:, :, 0] if flat else out
