"""`pixmill process` against raw libvips on the same photos, in one run.

96 JPEG photos of 12 MP → fit inside 800x800 → WEBP q80, whole batches timed from outside:
- pixmill: `python -m pixmill process DIR --op resize:width=800,height=800 --op webp:quality=80 -j N`
  (a fresh process: interpreter start-up, imports, its pool of N processes, reading and writing files);
- libvips: N fresh Python processes started together, each running `pyvips.Image.thumbnail(path, 800)` then
  `webpsave(Q=80)` over its share of the files (libvips' own threads left at their default).
N is one per CPU. Rounds alternate which goes first; the figure is the ratio of the medians (libvips'
time over pixmill's, so 1.0x means as fast, higher is faster). CPU time (user + system, every process
of the batch) is printed beside it: on a machine shared with other work, wall time also depends on how
many threads each side has for the scheduler to share the CPUs among (libvips runs its own threads).
The photos are made from the shared test photos (upscaled, with grain) into a temporary folder, kept
there for later runs, never in the repository.

Needs the `bench` extra (pyvips and its libvips binary wheel). Usage: python bench/cli.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import make_photo

from pixmill.batch import default_jobs

PIXMILL_OPS = ["--op", "resize:width=800,height=800", "--op", "webp:quality=80"]

VIPS = """
import sys
from pathlib import Path
import pyvips
out = Path(sys.argv[1])
for name in sys.argv[2:]:
    pyvips.Image.thumbnail(name, 800).webpsave(str(out / (Path(name).stem + ".webp")), Q=80)
"""


def photos(count: int) -> Path:
    """`count` 12 MP JPEG photos in a temporary folder (made once, then reused)."""
    folder = Path(tempfile.gettempdir()) / f"pixmill-bench-cli-{count}"
    if len(list(folder.glob("*.jpg"))) == count:
        return folder
    folder.mkdir(exist_ok=True)
    for i in range(count):
        target = folder / f"photo{i:03d}.jpg"
        if not target.exists():
            target.write_bytes(make_photo(4000, 3000, seed_image=i))
            print(f"\rmaking photos: {i + 1}/{count}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return folder


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_pixmill(src: Path, out: Path, jobs: int) -> float:
    args = [sys.executable, "-m", "pixmill", "process", str(src), *PIXMILL_OPS, "-j", str(jobs), "-o", str(out)]
    t0 = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - t0


def run_vips(src: Path, out: Path, jobs: int) -> float:
    files = sorted(str(p) for p in src.glob("*.jpg"))
    shares = [files[i::jobs] for i in range(jobs)]
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", VIPS, str(out), *share]) for share in shares]
    if any(p.wait() != 0 for p in procs):
        raise SystemExit("a libvips process failed")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="processes on each side")
    args = parser.parse_args()
    try:
        import pyvips
    except ImportError:
        raise SystemExit("needs pyvips: pip install -e '.[bench]'") from None
    src = photos(args.photos)
    megabytes = sum(p.stat().st_size for p in src.glob("*.jpg")) / 1e6
    print(f"{args.photos} photos 4000x3000 ({megabytes:.0f} MB) -> fit 800x800 WEBP q80, {args.jobs} process(es) each")
    print(f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}, {os.cpu_count()} CPUs here")
    times: dict[str, list[float]] = {"pixmill": [], "libvips": []}
    cpu: dict[str, list[float]] = {"pixmill": [], "libvips": []}
    runners = {"pixmill": run_pixmill, "libvips": run_vips}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = ["pixmill", "libvips"] if r % 2 == 0 else ["libvips", "pixmill"]
            for name in order:
                out = Path(tmp, name)
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
                before = children_cpu_s()
                times[name].append(runners[name](src, out, args.jobs))
                cpu[name].append(children_cpu_s() - before)
            print(
                f"round {r + 1}: pixmill {times['pixmill'][-1]:.2f} s ({cpu['pixmill'][-1]:.1f} CPU s), "
                f"libvips {times['libvips'][-1]:.2f} s ({cpu['libvips'][-1]:.1f} CPU s)"
            )
        a = pyvips.Image.new_from_file(str(Path(tmp, "pixmill", "photo000.webp")))
        b = pyvips.Image.new_from_file(str(Path(tmp, "libvips", "photo000.webp")))
        print(f"output sizes: pixmill {a.width}x{a.height}, libvips {b.width}x{b.height}")
    pix, vips = statistics.median(times["pixmill"]), statistics.median(times["libvips"])
    print(f"median of {args.rounds} rounds: pixmill {pix:.2f} s ({args.photos / pix:.1f} photos/s), ", end="")
    print(f"libvips {vips:.2f} s ({args.photos / vips:.1f} photos/s)")
    print(f"pixmill / libvips throughput: {vips / pix:.2f}x  (goal >= 0.9x)")
    pix_cpu, vips_cpu = statistics.median(cpu["pixmill"]), statistics.median(cpu["libvips"])
    print(f"CPU time per batch (median): pixmill {pix_cpu:.1f} s, libvips {vips_cpu:.1f} s: {vips_cpu / pix_cpu:.2f}x")


if __name__ == "__main__":
    main()
