"""Peak memory of one job at the pixel limit (PIXMILL_MAX_PIXELS, 100 MP by default).

Each pipeline runs in a fresh process on an image that makes it work at the limit; the figure is that process's
peak RSS (VmHWM) less its peak after imports, next to the reference measured in the same run: a few lines of
Pillow decoding the same 100 MP JPEG and writing it as JPEG (one decoded copy, 3 bytes a pixel, plus the encoder).

Usage: python bench/memory.py [--megapixels 100]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

from common import make_photo

PROBE = """
import sys
def hwm():  # VmHWM: this process's peak RSS in kB
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.limits import Limits
from pixmill.imaging.pipeline import parse_pipeline, run_pipeline
from pixmill.imaging.step_syntax import parse_step
data = open(sys.argv[1], "rb").read()
base = hwm()
p = parse_pipeline([parse_step(s) for s in sys.argv[2].split("/")])
run_pipeline(p, data, RunContext(limits=Limits(max_bytes=500_000_000, max_pixels=int(sys.argv[3]))))
print(base, hwm())
"""

REFERENCE = """
import io, sys
def hwm():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
from PIL import Image
Image.MAX_IMAGE_PIXELS = None
data = open(sys.argv[1], "rb").read()
base = hwm()
im = Image.open(io.BytesIO(data)); im.load()
im.save(io.BytesIO(), "JPEG", quality=80)
print(base, hwm())
"""


def _run(code: str, *args: str) -> tuple[int, int]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, ["src", os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env)
    if out.returncode:
        raise SystemExit(f"{args[1:]} failed:\n{out.stderr}")
    base, peak = (int(v) // 1024 for v in out.stdout.split())
    return base, peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megapixels", type=int, default=100, help="the pixel limit to measure at")
    args = parser.parse_args()
    limit = args.megapixels * 1_000_000
    side = int(limit**0.5)
    small = side // 10
    padded = side - 1000
    cases = [
        # (what, input side, pipeline): every output or working image is at the limit
        ("decode + encode JPEG", side, "jpeg:quality=80"),
        ("decode + encode WebP", side, "webp:quality=80"),
        ("rotate 30° (same size) + JPEG", side, "rotate:angle=30,expand=false/jpeg"),
        ("sharpen radius 2 + JPEG", side, "sharpen:radius=2/jpeg"),
        (f"resize {small}² → {side}² (upscale) + JPEG", small, f"resize:width={side},upscale=true/jpeg"),
        (f"pad {padded}² → {side}² + JPEG", padded, f"pad:width={side},height={side}/jpeg"),
        ("fit 800 (shrink on load) + JPEG", side, "resize:width=800,height=800/jpeg"),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        photos: dict[int, str] = {}
        for _, size, _ in cases:
            if size not in photos:
                photos[size] = os.path.join(tmp, f"{size}.jpg")
                with open(photos[size], "wb") as fh:
                    fh.write(make_photo(size, size))
        base, peak = _run(REFERENCE, photos[side])
        reference = peak - base
        mp = side * side / 1e6
        print(f"pixel limit {mp:.0f} MP ({side}x{side}); peak RSS above the process after imports")
        print(f"reference (Pillow: decode, save JPEG): {reference} MB = {reference / mp:.1f} bytes a pixel")
        for what, size, path in cases:
            base, peak = _run(PROBE, photos[size], path, str(limit))
            grown = peak - base
            print(
                f"{what:40s} {grown:6d} MB  {grown / mp:5.1f} B/px  {grown / reference:4.1f}x reference  "
                f"(process peak {peak} MB)"
            )


if __name__ == "__main__":
    main()
