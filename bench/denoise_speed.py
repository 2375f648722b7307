"""DnCNN speed: a plain PyTorch forward against pixmill's path, in the same run, on one 481x321 colour image.

- reference: nn.Sequential built from the same weights (dncnn_color_blind), default NCHW memory layout,
  torch.no_grad(), torch's default thread count; output `noisy - net(noisy)`;
- pixmill: pixmill.ml.dncnn.denoise, the function the `denoise` operation runs.
The input is a CBSD68 image with Gaussian noise (sigma 25). Rounds alternate the two so both see the same
machine load; prints both medians, the speedup (goal >= 2.5x), the fastest round of each, the largest
difference between the two outputs (must be <= 1e-4) and seconds per megapixel.

--photo-mp N also runs the `denoise` operation once on an N-megapixel photo (the image enlarged, with noise,
as a PNG) in a fresh process that only decodes it and runs the operation, and prints its time and peak RSS
(VmHWM; goal under 1.5 GB for 12 MP).

Usage: python bench/denoise_speed.py [--rounds 9] [--photo-mp 12]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pixmill.ml import dncnn
from pixmill.ml.models import require

SHARED = Path(__file__).resolve().parents[2] / "shared"
SPEEDUP_GOAL = 2.5
MAX_DIFF = 1e-4

PHOTO_PROBE = """
import sys, time
from pathlib import Path
from PIL import Image

def hwm_mb():  # this process's peak RSS (VmHWM)
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024

from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.ops.denoise import DenoiseParams, denoise
from pixmill.imaging.values import ImageValue

photo_path, models = Path(sys.argv[1]), Path(sys.argv[2])
photo = Image.open(photo_path)
photo.load()
width, height = photo.size
before = hwm_mb()
t0 = time.perf_counter()
out = denoise([ImageValue(photo, "JPEG")], DenoiseParams(), RunContext(models_dir=models))
elapsed = time.perf_counter() - t0
print(f"{width}x{height} ({width * height / 1e6:.1f} MP): {elapsed:.1f} s, "
      f"{elapsed / (width * height / 1e6):.3f} s/MP, peak RSS {hwm_mb():.0f} MB "
      f"(before the operation {before:.0f} MB)")
"""


def make_photo(source: Path, megapixels: float) -> Image.Image:
    """`source` enlarged to about `megapixels` (4:3) with Gaussian noise of sigma 15."""
    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = width * 3 // 4
    base = np.asarray(Image.open(source).convert("RGB").resize((width, height), Image.Resampling.BICUBIC))
    noise = np.random.default_rng(0).normal(0, 15, base.shape).astype(np.float32)
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))


def reference_forward(path: Path, no_grad: bool = True) -> Callable[[torch.Tensor], torch.Tensor]:
    net = dncnn.build_sequential(torch.load(path, map_location="cpu", weights_only=True))

    def run(x: torch.Tensor) -> torch.Tensor:
        if not no_grad:  # the literal plain call: autograd on, as a freshly loaded module runs
            return (x - net(x)).detach()
        with torch.no_grad():
            return x - net(x)

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--image", type=Path, default=SHARED / "testsets" / "CBSD68" / "101085.png")
    parser.add_argument("--models-dir", type=Path, default=SHARED / "models")
    parser.add_argument("--photo-mp", type=float, help="also run the operation on a photo of this many megapixels")
    args = parser.parse_args()

    clean = np.asarray(Image.open(args.image).convert("RGB"), dtype=np.float32) / 255
    noisy = (clean + np.random.default_rng(0).normal(0, 25 / 255, clean.shape)).astype(np.float32)
    h, w, _ = noisy.shape
    path = require(args.models_dir, "dncnn_color_blind")

    default_threads = torch.get_num_threads()
    reference = reference_forward(path)
    plain = reference_forward(path, no_grad=False)
    x = torch.from_numpy(noisy).permute(2, 0, 1)[None].contiguous()  # NCHW, default layout
    model = dncnn.load_model(path)

    def run_reference() -> np.ndarray:
        torch.set_num_threads(default_threads)  # pixmill's denoise sets torch to 1 thread (it has its workers)
        return reference(x)[0].permute(1, 2, 0).numpy()

    def run_plain() -> np.ndarray:
        torch.set_num_threads(default_threads)
        return plain(x)[0].permute(1, 2, 0).numpy()

    def run_pixmill() -> np.ndarray:
        return dncnn.denoise(model, noisy)

    expected, got = run_reference(), run_pixmill()  # warm-up, and the outputs compared
    diff = float(np.abs(expected - got).max())
    times: dict[str, list[float]] = {"reference": [], "plain": [], "pixmill": []}
    for _ in range(args.rounds):
        for name, fn in (("reference", run_reference), ("plain", run_plain), ("pixmill", run_pixmill)):
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)

    ref, ours = statistics.median(times["reference"]), statistics.median(times["pixmill"])
    megapixels = h * w / 1e6
    speedup = ref / ours
    print(f"image {args.image.name} {w}x{h}, {args.rounds} alternating rounds")
    print(f"reference (nn.Sequential, NCHW, no_grad, {default_threads} threads): median {ref:.3f} s")
    workers = dncnn.cpu_count()
    print(f"pixmill   (Winograd F(6,3), channels-last row bands on {workers} workers): median {ours:.3f} s")
    print(f"speedup {speedup:.2f}x over the no_grad reference (goal >= {SPEEDUP_GOAL}x)")
    plain_median = statistics.median(times["plain"])
    print(f"plain forward (autograd on, NCHW): median {plain_median:.3f} s: speedup {plain_median / ours:.2f}x")
    best_ref, best_ours = min(times["reference"]), min(times["pixmill"])
    print(f"fastest rounds (less sensitive to other load): {best_ref:.3f} s vs {best_ours:.3f} s", end="")
    print(f" = {best_ref / best_ours:.2f}x")
    print(f"max abs difference {diff:.2e} (must be <= {MAX_DIFF:.0e})")
    print(f"pixmill {ours / megapixels:.3f} s/MP (reference {ref / megapixels:.3f} s/MP)")
    if args.photo_mp:
        with tempfile.TemporaryDirectory() as tmp:
            photo = Path(tmp) / "photo.png"
            make_photo(args.image, args.photo_mp).save(photo)
            probe = [sys.executable, "-c", PHOTO_PROBE, str(photo), str(args.models_dir)]
            print(subprocess.run(probe, check=True, capture_output=True, text=True).stdout.strip())
    return 0 if diff <= MAX_DIFF else 1


if __name__ == "__main__":
    sys.exit(main())
