"""DnCNN denoising quality on the paper's test sets, with pixmill's own denoiser.

For each (test set, model, sigma): np.random.seed(0), then for every image in sorted file order the noisy
input is `img + np.random.normal(0, sigma / 255, img.shape)` on the float [0, 1] image (not clipped).
It is denoised by pixmill.imaging.ops.denoise.denoise_pixels (what the `denoise` operation runs) and turned
into 8 bits by the operation's to_8bit (clipped, rounded); the PSNR against the 8-bit original is averaged
over the set. The seed is set once per (set, model, sigma), so a partial run prints the same figures.

Prints each figure next to the paper's and to the target (an independent implementation's figures, which a
correct one reproduces within 0.02 dB); exits 1 when a target is missed.

Usage:
    python bench/denoise_psnr.py                                # CBSD68 colour and Set12 grey, sigma 15/25/50
    python bench/denoise_psnr.py --sets Set12 --sigmas 25       # part of it
    python bench/denoise_psnr.py --sets Set12 BSD68 --model dncnn_25 --sigmas 25
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.ops.denoise import MODEL_FILES, denoise_pixels, to_8bit
from pixmill.ml import dncnn
from pixmill.ml.model_files import require

SHARED = Path(__file__).resolve().parents[2] / "shared"

DEFAULT_MODEL = {"CBSD68": "color_blind", "Set12": "gray_blind", "BSD68": "gray_blind"}
TOLERANCE_DB = 0.02

# Zhang et al. 2017, table of PSNR (dB) for additive white Gaussian noise: (set, model) -> {sigma: dB}
PAPER = {
    ("CBSD68", "color_blind"): {15: 33.89, 25: 31.23, 50: 27.92},
    ("Set12", "gray_blind"): {15: 32.68, 25: 30.36, 50: 27.21},
    ("BSD68", "gray_blind"): {15: 31.61, 25: 29.16, 50: 26.23},
    ("Set12", "dncnn_15"): {15: 32.86},
    ("Set12", "dncnn_25"): {25: 30.44},
    ("Set12", "dncnn_50"): {50: 27.18},
    ("BSD68", "dncnn_15"): {15: 31.73},
    ("BSD68", "dncnn_25"): {25: 29.23},
    ("BSD68", "dncnn_50"): {50: 26.23},
}
# The figures an independent from-scratch implementation measured with this protocol (models/SOURCES.md).
TARGET = {
    ("CBSD68", "color_blind"): {15: 33.879, 25: 31.220, 50: 27.911},
    ("Set12", "gray_blind"): {15: 32.688, 25: 30.368, 50: 27.207},
    ("Set12", "dncnn_25"): {25: 30.445},
    ("BSD68", "dncnn_25"): {25: 29.224},
}


def psnr(out: np.ndarray, clean: np.ndarray) -> float:
    mse = float(np.mean((out.astype(np.float64) - clean.astype(np.float64)) ** 2))
    return 10 * float(np.log10(255.0**2 / mse))


def evaluate(files: list[Path], model: dncnn.DnCNN, sigma: float) -> float:
    """Mean PSNR (dB) over `files` at noise level `sigma` (0-255 scale)."""
    np.random.seed(0)
    ctx = RunContext()
    scores = []
    for path in files:
        clean = np.asarray(Image.open(path))
        img = clean.astype(np.float64) / 255
        noisy = img + np.random.normal(0, sigma / 255, img.shape)
        out = denoise_pixels(model, noisy.astype(np.float32), None, ctx)
        scores.append(psnr(to_8bit(out), clean))
    return float(np.mean(scores))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["CBSD68", "Set12"], choices=sorted(DEFAULT_MODEL))
    parser.add_argument("--sigmas", nargs="+", type=float, default=[15, 25, 50])
    parser.add_argument("--model", choices=sorted(MODEL_FILES), help="default: color_blind / gray_blind by set")
    parser.add_argument("--models-dir", type=Path, default=SHARED / "models")
    parser.add_argument("--testsets", type=Path, default=SHARED / "testsets")
    args = parser.parse_args()

    missed = 0
    print(f"{'set':8} {'model':12} {'sigma':>5} {'pixmill':>8} {'paper':>7} {'target':>7} {'diff':>7}  {'time':>6}")
    for name in args.sets:
        files = sorted((args.testsets / name).glob("*.png"))
        if not files:
            print(f"{name}: no images under {args.testsets / name}", file=sys.stderr)
            return 2
        model_name = args.model or DEFAULT_MODEL[name]
        model = dncnn.load_model(require(args.models_dir, MODEL_FILES[model_name]))
        for sigma in args.sigmas:
            t0 = time.perf_counter()
            score = evaluate(files, model, sigma)
            elapsed = time.perf_counter() - t0
            paper = PAPER.get((name, model_name), {}).get(int(sigma))
            target = TARGET.get((name, model_name), {}).get(int(sigma)) if sigma == int(sigma) else None
            verdict = ""
            if target is not None:
                ok = abs(score - target) <= TOLERANCE_DB
                missed += not ok
                verdict = "ok" if ok else f"MISSED (more than {TOLERANCE_DB} dB off)"
            print(
                f"{name:8} {model_name:12} {sigma:5g} {score:8.3f} {_fmt(paper, 2):>7} {_fmt(target, 3):>7} "
                f"{_fmt(None if target is None else score - target, 3, sign=True):>7}  {elapsed:5.1f}s  {verdict}",
                flush=True,
            )
    return 1 if missed else 0


def _fmt(value: float | None, digits: int, sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


if __name__ == "__main__":
    sys.exit(main())
