"""DnCNN denoising (Zhang, Zuo, Chen, Meng, Zhang, "Beyond a Gaussian Denoiser", IEEE TIP 2017) on the CPU.

The network is rebuilt from its state_dict: a stack of 3x3 convolutions (padding 1, with bias) with a ReLU
between them; depth and channel counts are read from the keys `model.N.weight`. It predicts the noise, so
the denoised image is `noisy - net(noisy)`, on float32 pixels in [0, 1] (not clipped).

Speed: every convolution runs as a Winograd F(6x6, 3x3) convolution on channels-last (H, W, C) buffers,
under `torch.inference_mode()`: 64 multiplications per 6x6 output block and channel pair instead of 324. The
result matches a plain `nn.Conv2d` stack within a few 1e-6 (float32 rounding). Each layer is cut into bands
of rows small enough for the CPU cache, and the bands go to one worker thread per CPU, torch itself running
single-threaded ops (this module sets torch.set_num_threads(1): nothing else in pixmill uses torch). One
synchronisation per layer instead of one per torch op keeps the speed when other processes load the CPUs,
where thousands of short multi-threaded ops each wait for a preempted thread. Work buffers are reused
(fresh large tensors cost page faults). Measured on a shared 2-core CPU, 481x321 colour image
(bench/denoise_speed.py), alternating rounds: plain `nn.Sequential` (NCHW, no_grad, 2 threads) 1.9-3.5 s
by the load; channels_last with oneDNN is about 1.5x faster than that, this path 2.2-2.3x (medians; 2.6x
comparing the fastest rounds). The same Winograd code with 2-thread torch ops was 2.1x when the CPUs were
otherwise idle but fell to 0.6-1.4x when another process kept a core busy.

Large images are processed in square tiles, each computed with MARGIN pixels of context on every side and
only its central part kept. The receptive field of 20 convolutions reaches 20 px, so with a margin of 24 (or
depth + 4 for a deeper network) the kept part is what the whole image gives (up to float rounding), and
memory stays bounded by the tile.

torch is imported inside the functions: the rest of pixmill imports without the `ml` extra.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from math import prod
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pixmill.imaging.errors import OperationUnavailable

if TYPE_CHECKING:
    import torch
    from torch import nn

ML_EXTRA_MESSAGE = "denoise needs the ml extra: pip install 'pixmill[ml]'"

MARGIN = 24  # px of context read around every tile (the receptive field of 20 layers reaches 20 px)
DEFAULT_TILE = 768  # side of the square each tile outputs: two 816x816x64 float32 buffers, about 340 MB

# Winograd F(M x M, 3 x 3): each tile of N x N inputs gives M x M outputs. The interpolation points are
# the usual well-conditioned ones (0, ±1, ±2, ±1/2 and infinity).
_M = 6
_N = _M + 2
_POINTS = (Fraction(0), Fraction(1), Fraction(-1), Fraction(2), Fraction(-2), Fraction(1, 2), Fraction(-1, 2))
_BAND_TILES = 120  # Winograd tiles per band: a band's work buffers (about 2 MB) stay in the cache

_KEY = re.compile(r"model\.(\d+)\.(weight|bias)")


def require_torch() -> None:
    """Raise OperationUnavailable when torch (the `ml` extra) is not installed."""
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise OperationUnavailable(ML_EXTRA_MESSAGE) from exc


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


@cache
def _transforms() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """AT, BT as float32 tensors, G as float64, and the index of the point 1 (whose AT column is all ones)."""
    import torch

    at, g, bt = winograd_matrices()
    return (
        torch.from_numpy(at).float(),
        torch.from_numpy(bt).float(),
        torch.from_numpy(g),
        _POINTS.index(Fraction(1)),
    )


@dataclass(frozen=True)
class DnCNN:
    """A loaded DnCNN: its convolutions in order and their Winograd-domain weights."""

    convs: tuple[tuple[torch.Tensor, torch.Tensor], ...]  # (weight [out, in, 3, 3], bias [out]) per layer
    winograd: tuple[torch.Tensor, ...]  # per layer [N*N, in, out]: G w G^T for every (column, row) point pair

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
    return nn.Sequential(*modules).eval()


def from_state_dict(state_dict: Mapping[str, torch.Tensor]) -> DnCNN:
    """A DnCNN from its state_dict, with its Winograd-domain weights computed once (in float64)."""
    import torch

    _, _, g, _ = _transforms()
    layers = conv_layers(state_dict)
    winograd = []
    for weight, _bias in layers:
        # u[q, p, c, o] = sum_rs G[p, r] w[o, c, r, s] G[q, s]: p runs over rows, q over columns
        u = torch.einsum("pr,ocrs,qs->qpco", g, weight.double(), g)
        winograd.append(u.reshape(_N * _N, weight.shape[1], weight.shape[0]).float().contiguous())
    return DnCNN(tuple(layers), tuple(winograd))


_cache: dict[str, DnCNN] = {}
_cache_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _after_fork_in_child() -> None:
    """A forked child (a prefork worker) has none of the parent's threads: start its own pool when needed."""
    global _pool, _cache_lock
    _pool = None
    _cache_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def cpu_count() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _workers() -> ThreadPoolExecutor:
    """The process's band workers, one per CPU, shared by every call: concurrent denoise jobs queue for the
    CPUs instead of oversubscribing them."""
    global _pool
    with _cache_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=cpu_count(), thread_name_prefix="dncnn")
        return _pool


def load_model(path: Path) -> DnCNN:
    """The DnCNN stored at `path` (a state_dict), loaded once per process and path."""
    require_torch()
    import torch

    key = str(Path(path).resolve())
    with _cache_lock:
        model = _cache.get(key)
        if model is None:
            state = torch.load(key, map_location="cpu", weights_only=True)
            model = _cache[key] = from_state_dict(state)
    return model


class _Buffers:
    """Flat float32 buffers reused across layers and tiles; views of any shape are cut from them."""

    def __init__(self) -> None:
        self._store: dict[str, torch.Tensor] = {}

    def take(self, name: str, *shape: int) -> torch.Tensor:
        import torch

        size = prod(shape)
        buf = self._store.get(name)
        if buf is None or buf.numel() < size:
            buf = self._store[name] = torch.empty(size, dtype=torch.float32)
        return buf[:size].view(*shape)


class _Runner:
    """Runs one model on tiles, reusing its buffers from tile to tile; bands of rows go to the workers."""

    def __init__(self, model: DnCNN, pool: ThreadPoolExecutor, workers: int) -> None:
        self.model = model
        self.pool = pool
        self.workers = workers
        self.buffers = _Buffers()  # the activations, shared by the workers
        self.scratch = [_Buffers() for _ in range(self.workers)]  # each worker's transform buffers
        _transforms()  # built once, here, rather than by two workers at once

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """net(x) for x [h, w, channels]: a view [h, w, channels] into this runner's buffers."""
        h, w, channels = x.shape
        th, tw = -(-h // _M), -(-w // _M)
        hp, wp = _M * th + 2, _M * tw + 2  # zero border of 1, and room for whole tiles
        stores = ("a", "b")
        src = self.buffers.take(stores[0], hp, wp, channels)
        src.zero_()
        src[1 : h + 1, 1 : w + 1].copy_(x)
        last = self.model.depth - 1
        for n in range(self.model.depth):
            out_ch = int(self.model.convs[n][0].shape[0])
            dst = self.buffers.take(stores[(n + 1) % 2], hp, wp, out_ch)
            self._layer(src, dst, n, h, w, relu=n < last)
            src = dst
        return src[1 : h + 1, 1 : w + 1]

    def _layer(self, src: torch.Tensor, dst: torch.Tensor, layer: int, h: int, w: int, relu: bool) -> None:
        """dst = conv(src) (+ ReLU) for zero-bordered [hp, wp, C] buffers; dst's border is left zero."""
        th, tw = (src.shape[0] - 2) // _M, (src.shape[1] - 2) // _M
        band = max(1, min(th, round(_BAND_TILES / tw), -(-th // self.workers)))
        starts = list(range(0, th, band))
        dst[0].zero_()
        dst[:, 0].zero_()

        pending = iter(starts)  # taken band by band: a worker slowed down by other load takes fewer
        lock = threading.Lock()

        def work(k: int) -> None:
            import torch

            with torch.inference_mode():
                while True:
                    with lock:
                        t0 = next(pending, None)
                    if t0 is None:
                        return
                    self._band(src, dst, layer, t0, min(band, th - t0), relu, self.scratch[k])

        for done in self.pool.map(work, range(min(self.workers, len(starts)))):
            assert done is None
        dst[h + 1 :].zero_()  # whole tiles overshoot the image: restore the zero border
        dst[:, w + 1 :].zero_()

    def _band(
        self, src: torch.Tensor, dst: torch.Tensor, layer: int, t0: int, tb: int, relu: bool, scratch: _Buffers
    ) -> None:
        """Rows of Winograd tiles t0 .. t0 + tb - 1 of one layer."""
        import torch

        at, bt, _, one = _transforms()
        m, n = _M, _N
        _, wp, c_in = src.shape
        c_out = dst.shape[2]
        tw = (wp - 2) // m
        r = tb * tw
        row = wp * c_in  # stride of one image row in src
        flat = src.view(-1)
        take = scratch.take
        # rows: s1[ti, p, x, c] = sum_a BT[p, a] src[m*ti + a, x, c]  (overlapping row windows, no copy)
        windows = flat.as_strided((tb, n, row), (m * row, row, 1), flat.storage_offset() + m * t0 * row)
        s1 = take("s1", tb, n, row)
        torch.matmul(bt, windows, out=s1)
        # gather the column windows: g[b, p, ti, tj, c] = s1[ti, p, m*tj + b, c]
        g = take("g", n, n, tb, tw, c_in)
        g.copy_(s1.as_strided((n, n, tb, tw, c_in), (c_in, row, n * row, m * c_in, 1)))
        # columns: v[q, p, ti, tj, c] = sum_b BT[q, b] g[b, p, ti, tj, c]
        v = take("v", n, n * r * c_in)
        torch.mm(bt, g.view(n, -1), out=v)
        # one matrix product per (q, p) point pair: [r, c_in] @ [c_in, c_out]
        products = take("m", n * n, r, c_out)
        torch.bmm(v.view(n * n, r, c_in), self.model.winograd[layer], out=products)
        # AT's column for the point 1 is all ones: the bias added there reaches every output pixel
        products[one * n + one].add_(self.model.convs[layer][1])
        # back to pixels: y[j, i, ti, tj, o] = sum_qp AT[j, q] AT[i, p] products[q, p, ti, tj, o]
        z = take("z", m, n * r * c_out)
        torch.mm(at, products.view(n, -1), out=z)
        y = take("y", m, m, r * c_out)
        torch.matmul(at, z.view(m, n, r * c_out), out=y)
        pixels = y.view(m, m, tb, tw, c_out).permute(2, 1, 3, 0, 4)  # [ti, i, tj, j, o]
        target = dst[1 + m * t0 : 1 + m * (t0 + tb), 1 : 1 + m * tw].unflatten(1, (tw, m)).unflatten(0, (tb, m))
        if relu:
            torch.clamp_min(pixels, 0.0, out=target)
        else:
            target.copy_(pixels)


def _spans(size: int, tile: int) -> list[tuple[int, int]]:
    """[start, end) ranges of near-equal length at most `tile` covering 0..size."""
    count = -(-size // tile)
    step = -(-size // count)
    return [(start, min(size, start + step)) for start in range(0, size, step)]


def denoise(
    model: DnCNN, image: np.ndarray, tile: int | None = None, check: Callable[[], None] | None = None
) -> np.ndarray:
    """`image - net(image)` for float pixels in [0, 1] (not clipped), [h, w] or [h, w, channels].

    The image is processed in tiles whose central part (at most `tile` px square, DEFAULT_TILE by default)
    is kept; `check` is called before every tile (a deadline check, say).
    """
    require_torch()
    import torch

    pixels = np.asarray(image, dtype=np.float32)
    flat = pixels.ndim == 2
    if flat:
        pixels = pixels[:, :, None]
    if pixels.ndim != 3 or pixels.shape[2] != model.channels:
        raise ValueError(f"this model takes images with {model.channels} channel(s), got shape {image.shape}")
    side = tile or DEFAULT_TILE
    if side < 1:
        raise ValueError("tile must be at least 1 px")
    h, w, _ = pixels.shape
    out = np.empty_like(pixels)
    x = torch.from_numpy(np.ascontiguousarray(pixels))
    result = torch.from_numpy(out)
    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)  # single-threaded ops; the parallelism is one band worker per CPU
    runner = _Runner(model, _workers(), cpu_count())
    with torch.inference_mode():
        for y0, y1 in _spans(h, side):
            for x0, x1 in _spans(w, side):
                if check is not None:
                    check()
                a0, a1 = max(0, y0 - model.margin), min(h, y1 + model.margin)
                b0, b1 = max(0, x0 - model.margin), min(w, x1 + model.margin)
                noise = runner.residual(x[a0:a1, b0:b1])
                core = noise[y0 - a0 : y1 - a0, x0 - b0 : x1 - b0]
                torch.sub(x[y0:y1, x0:x1], core, out=result[y0:y1, x0:x1])
    return out[:, :, 0] if flat else out
