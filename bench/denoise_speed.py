"""DnCNN speed: pixmill's denoiser against plain PyTorch forwards of the same weights, in the same run.

On one 481x321 colour image (a CBSD68 image with Gaussian noise, sigma 25), rounds alternate:
- plain: the reference the issue sets, a plain forward of nn.Sequential built from dncnn_color_blind in the
  default (NCHW) memory layout, as a freshly loaded module runs (autograd on), torch's default thread count;
  output `noisy - net(noisy)`;
- no_grad: the same under torch.no_grad(), a stricter reference;
- channels_last: the same in channels-last layout under inference mode, the best of the plain torch variants;
- pixmill compiled: pixmill.ml.dncnn.denoise with the compiled engine, what the `denoise` operation runs on CPUs;
- pixmill torch: the same function on its torch engine (what runs where the C extension could not be built).
Prints each median, the speedups against each reference (goal >= 2.5x the plain one), the fastest round of
each, the largest difference between pixmill's output and the plain forward's (must be <= 1e-4) and seconds
per megapixel.

--busy also runs the rounds again while another process keeps one CPU busy (a Python busy loop), as a
standard worker would beside the ML one in embedded mode.

--photo-mp N also runs the `denoise` operation once on an N-megapixel photo (the image enlarged, with noise,
as a PNG) in a fresh process that only decodes it and runs the operation, and prints its time and peak RSS
(VmHWM; goal under 1.5 GB for 12 MP).

Usage: python bench/denoise_speed.py [--rounds 9] [--busy] [--photo-mp 12]
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
from pixmill.ml.model_files import require

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
out = denoise([ImageValue(photo, "JPEG")], DenoiseParams(), RunContext(resources=(MLSetup(models, "cpu"),)))
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


def references(path: Path, x: torch.Tensor) -> dict[str, Callable[[], torch.Tensor]]:
    """The plain torch forwards, each returning noisy - net(noisy) in NCHW."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    plain = dncnn.build_sequential(state).requires_grad_(True)  # as nn.Conv2d modules come: parameters need grad
    frozen = dncnn.build_sequential(state)
    last = dncnn.build_sequential(state).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    x_last = x.contiguous(memory_format=torch.channels_last)

    def run_plain() -> torch.Tensor:
        return (x - plain(x)).detach()

    def run_no_grad() -> torch.Tensor:
        with torch.no_grad():
            return x - frozen(x)

    def run_channels_last() -> torch.Tensor:
        with torch.inference_mode():
            return x_last - last(x_last)

    return {"plain": run_plain, "no_grad": run_no_grad, "channels_last": run_channels_last}


def measure(runs: dict[str, Callable[[], np.ndarray]], rounds: int) -> dict[str, list[float]]:
    """Seconds of each run, rounds alternating so that all see the same load."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def report(
    runs: dict[str, Callable[[], np.ndarray]],
    times: dict[str, list[float]],
    diffs: dict[str, float],
    megapixels: float,
    ours: str,
) -> None:
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"{'':<18} {'median s':>9} {'fastest s':>10} {'s/MP':>7}  {'x plain':>8} {'x no_grad':>9}  max diff")
    for name in runs:
        print(
            f"{name:<18} {medians[name]:>9.3f} {min(times[name]):>10.3f} {medians[name] / megapixels:>7.2f}  "
            f"{medians['plain'] / medians[name]:>7.2f}x {medians['no_grad'] / medians[name]:>8.2f}x  "
            f"{diffs[name]:.1e}"
        )
    speedup = medians["plain"] / medians[ours]
    stricter = {name: medians[name] / medians[ours] for name in ("no_grad", "channels_last")}
    print(f"{ours}: {speedup:.2f}x the plain forward (goal >= {SPEEDUP_GOAL}x), ", end="")
    print(f"{stricter['no_grad']:.2f}x no_grad, {stricter['channels_last']:.2f}x channels_last; ", end="")
    print(f"max abs difference {diffs[ours]:.2e} (must be <= {MAX_DIFF:.0e})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--image", type=Path, default=SHARED / "testsets" / "CBSD68" / "101085.png")
    parser.add_argument("--models-dir", type=Path, default=SHARED / "models")
    parser.add_argument("--busy", action="store_true", help="also measure with one CPU kept busy by another process")
    parser.add_argument("--photo-mp", type=float, help="also run the operation on a photo of this many megapixels")
    args = parser.parse_args()

    clean = np.asarray(Image.open(args.image).convert("RGB"), dtype=np.float32) / 255
    noisy = (clean + np.random.default_rng(0).normal(0, 25 / 255, clean.shape)).astype(np.float32)
    h, w, _ = noisy.shape
    path = require(args.models_dir, "dncnn_color_blind")
    if dncnn.compiled_kernel() is None:
        print("pixmill.ml._winograd is not built (no C compiler at install?): only the torch engine runs")

    default_threads = torch.get_num_threads()
    x = torch.from_numpy(noisy).permute(2, 0, 1)[None].contiguous()  # NCHW, default layout
    model = dncnn.load_model(path)

    def timed_reference(fn: Callable[[], torch.Tensor]) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            torch.set_num_threads(default_threads)  # the torch engine may have set its own count
            return fn()[0].permute(1, 2, 0).numpy()

        return run

    runs: dict[str, Callable[[], np.ndarray]] = {k: timed_reference(f) for k, f in references(path, x).items()}
    if dncnn.compiled_kernel() is not None:
        runs["pixmill compiled"] = lambda: dncnn.denoise(model, noisy, use="compiled")
    runs["pixmill torch"] = lambda: dncnn.denoise(model, noisy, use="torch")

    expected = runs["plain"]()
    diffs = {name: float(np.abs(fn() - expected).max()) for name, fn in runs.items()}  # also the warm-up
    print(f"image {args.image.name} {w}x{h}, {args.rounds} alternating rounds, {dncnn.cpu_count()} CPUs")
    ours = "pixmill compiled" if "pixmill compiled" in runs else "pixmill torch"
    report(runs, measure(runs, args.rounds), diffs, h * w / 1e6, ours)
    if args.busy:
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            print("while another process keeps one CPU busy:")
            report(runs, measure(runs, args.rounds), diffs, h * w / 1e6, ours)
        finally:
            hog.terminate()
            hog.wait()
    if args.photo_mp:
        with tempfile.TemporaryDirectory() as tmp:
            photo = Path(tmp) / "photo.png"
            make_photo(args.image, args.photo_mp).save(photo)
            probe = [sys.executable, "-c", PHOTO_PROBE, str(photo), str(args.models_dir)]
            print(subprocess.run(probe, check=True, capture_output=True, text=True).stdout.strip())
    return 0 if diffs[ours] <= MAX_DIFF else 1


if __name__ == "__main__":
    sys.exit(main())
