"""Local batch runs for `pixmill process` and `pixmill canvas`: which files, where their outputs go, a pool.

Safety is decided here, before and while writing: inputs are never written over, and no two inputs may
land on one output name (outputs mirror the input tree under the output folder; a clash left after that
is refused before anything runs).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pixmill.canvas.grid import CanvasSettings
from pixmill.canvas.types import CanvasError, Palette
from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.errors import ImagingError
from pixmill.imaging.limits import Limits
from pixmill.imaging.pipeline import Pipeline, parse_pipeline, run_pipeline
from pixmill.imaging.values import EncodedValue

# What a folder contributes (a file named on the command line is taken whatever its name).
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".avif", ".gif", ".tif", ".tiff", ".bmp", ".heic", ".heif"}
)
# The pipeline's output when it is a plain chain of --op steps: its files are named <stem>.<ext>.
CHAIN_OUTPUT = "result"


class BatchRefused(Exception):
    """The batch cannot run as asked (a clash of output names, an output folder that cannot be written)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Source:
    path: Path  # as given, or as found in a given folder
    rel: Path  # where under the output folder its outputs go; its stem names them


def default_jobs() -> int:
    """One process per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _folder_files(folder: Path, recursive: bool, skip: str | None) -> list[Path]:
    found = []
    walk = os.walk(folder) if recursive else [(str(folder), [], os.listdir(folder))]
    for dirpath, dirnames, filenames in walk:
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and os.path.realpath(os.path.join(dirpath, d)) != skip
        )
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if not name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
                found.append(path)
    return found


def collect(inputs: list[Path], recursive: bool = False, out: Path | None = None) -> list[Source]:
    """The files to process: each file named, and the images in each folder named (its subfolders too with
    `recursive`, except the output folder `out`: a second run does not take the first one's outputs as
    inputs). A folder's images keep their place below it; named files keep theirs below the folder all
    of them share. A path that does not exist is kept, to fail with its own message."""
    skip = os.path.realpath(out) if out is not None else None
    sources: list[Source] = []
    named: list[Path] = []
    for path in inputs:
        if path.is_dir():
            try:
                sources += [Source(f, f.relative_to(path)) for f in _folder_files(path, recursive, skip)]
            except OSError as exc:
                raise BatchRefused(f"cannot read the folder {path}: {exc.strerror or exc}") from None
        else:
            named.append(path)
    if named:
        parents = [str(p.absolute().parent) for p in named]
        base = Path(os.path.commonpath(parents))
        sources += [Source(p, p.absolute().relative_to(base)) for p in named]
    unique: dict[str, Source] = {}
    for s in sources:  # the same file named twice, or named and found in a folder, runs once
        unique.setdefault(os.path.realpath(s.path), s)
    return list(unique.values())


def check_names(sources: list[Source]) -> None:
    """Refuse two inputs whose outputs would share names (a/x.jpg and b/x.jpg given as folders a and b, or
    x.jpg beside x.png)."""
    by_stem: dict[Path, list[Source]] = {}
    for s in sources:
        by_stem.setdefault(s.rel.parent / s.rel.stem, []).append(s)
    clashes = [group for group in by_stem.values() if len(group) > 1]
    if clashes:
        lines = [
            " and ".join(str(s.path) for s in group) + f" would both be written as {stem}.*"
            for stem, group in ((g[0].rel.parent / g[0].rel.stem, g) for g in clashes[:5])
        ]
        more = f"\n  … and {len(clashes) - 5} more" if len(clashes) > 5 else ""
        raise BatchRefused(
            "two inputs would land on one output name:\n  "
            + "\n  ".join(lines)
            + more
            + "\nrename one, or give their common folder (with --recursive) so that the output mirrors the tree"
        )


def output_file(source: Source, name: str, extension: str, chain: bool) -> Path:
    """Where one output of one input goes, relative to the output folder.

    A plain chain's one output is <stem>.<ext>; a named output (a --pipeline DAG's, or a fan-out's
    <name>-<key>) is <stem>.<name>.<ext>; data outputs are <stem>.<name>.json.
    """
    stem = source.rel.stem if chain and name == CHAIN_OUTPUT and extension != "json" else f"{source.rel.stem}.{name}"
    return source.rel.parent / f"{stem}.{extension}"


def sources_for(inputs: list[Path], recursive: bool, out: Path) -> list[Source]:
    """The files to process, their output names checked and the output folder made, or BatchRefused saying why."""
    sources = collect(inputs, recursive, out)
    if not sources:
        raise BatchRefused("no images to process (a folder gives its images; -r takes subfolders too)")
    check_names(sources)
    prepare_output_folder(out)
    return sources


def prepare_output_folder(out: Path) -> None:
    """Create the output folder, or say clearly why it cannot be written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise BatchRefused(f"the output folder {out} is a file") from None
    except OSError as exc:
        raise BatchRefused(f"cannot create the output folder {out}: {exc.strerror or exc}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise BatchRefused(f"the output folder {out} is not writable")


# What a worker returns for one input: its index, its outputs (name, extension, bytes), or an error.
Outcome = tuple[int, list[tuple[str, str, bytes]], str | None]

# Files a worker process runs at once, each on its own thread. Pillow lets go of the GIL while it decodes,
# resizes and encodes, so the second file fills the gaps of the first (its Python parts, its reads and
# writes), as libvips' own threads do within one of its processes; both share the process's imports.
FILES_PER_PROCESS = 2

Files = list[tuple[str, str, bytes]]  # one input's outputs: name, extension, bytes


@dataclass
class PipelineJob:
    """What `pixmill process` does to one file: run a pipeline (given as its JSON, parsed in the worker)."""

    spec: dict[str, Any]
    ctx: RunContext
    _pipeline: Pipeline | None = field(default=None, init=False, repr=False)

    def __call__(self, data: bytes) -> Files:
        if self._pipeline is None:
            self._pipeline = parse_pipeline(self.spec)
        files = []
        for output in run_pipeline(self._pipeline, data, self.ctx).outputs:
            if isinstance(output.value, EncodedValue):
                files.append((output.name, output.value.extension, output.value.data))
            else:
                text = json.dumps(output.value.data, indent=2, sort_keys=True) + "\n"
                files.append((output.name, "json", text.encode()))
        return files


@dataclass(frozen=True)
class CanvasJob:
    """What `pixmill canvas` does to one photo: the dot plan, its preview and (optionally) its PDF guide."""

    palette: Palette
    settings: CanvasSettings
    limits: Limits
    preview_width: int
    paper: str | None  # None: no guide
    colour: bool = True  # False: the black-and-white guide (symbols only)

    def __call__(self, data: bytes) -> Files:
        # here: the plan's colour science pulls in scipy, which `pixmill process` has no need of
        from pixmill.canvas.guide import render_guide
        from pixmill.canvas.plan import make_plan
        from pixmill.canvas.preview import render_preview

        plan = make_plan(data, self.palette, self.settings, self.limits)
        files = [
            ("plan", "json", json.dumps(plan.to_json(), sort_keys=True).encode()),
            ("preview", "png", render_preview(plan, self.preview_width, "png")),
        ]
        if self.paper is not None:
            title = f"{plan.cols} x {plan.rows} drills, {self.palette.name} v{self.palette.version}"
            files.append(("guide", "pdf", render_guide(plan, paper=self.paper, title=title, colour=self.colour)))
        return files


Job = Callable[[bytes], Files]
_worker_job: Job | None = None
_worker_threads: ThreadPoolExecutor | None = None


def _init_worker(job: Job) -> None:
    global _worker_job
    _worker_job = job


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, ImagingError | CanvasError):
        return exc.message
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return f"{type(exc).__name__}: {exc}"


def run_one(task: tuple[int, str]) -> Outcome:
    """Run the worker's job on one file (its path read here, in the worker)."""
    index, path = task
    assert _worker_job is not None
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        return index, _worker_job(data), None
    except Exception as exc:  # one file's failure is reported and the batch goes on
        return index, [], _error_text(exc)


def run_group(tasks: list[tuple[int, str]]) -> list[Outcome]:
    """Run a few files at once on the worker's threads."""
    global _worker_threads
    if _worker_threads is None:
        _worker_threads = ThreadPoolExecutor(FILES_PER_PROCESS)
    return list(_worker_threads.map(run_one, tasks))


def run_all(
    sources: list[Source], job: Job, jobs: int, on_start: Callable[[], None] | None = None
) -> Iterator[Outcome]:
    """Outcomes of `job` as files finish, from `jobs` processes (one: in this process, a file at a time).

    A worker process that dies (killed, out of memory) fails the files it had not finished, not the batch.
    """
    tasks = [(i, str(s.path)) for i, s in enumerate(sources)]
    jobs = max(1, min(jobs, len(tasks)))
    if jobs == 1:
        _init_worker(job)
        if on_start:
            on_start()
        yield from map(run_one, tasks)
        return
    # fork: each worker starts with the modules already imported here, in milliseconds; the pool's processes
    # all start at the first submit, before the caller starts any thread of its own (the progress bar's).
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
    pool = ProcessPoolExecutor(jobs, context, _init_worker, (job,))
    # groups small enough that every process gets work to the end
    size = FILES_PER_PROCESS if len(tasks) >= 2 * jobs * FILES_PER_PROCESS else 1
    groups = [tasks[i : i + size] for i in range(0, len(tasks), size)]
    try:
        futures = {pool.submit(run_group, group): group for group in groups}
        if on_start:
            on_start()
        for future in as_completed(futures):
            try:
                yield from future.result()
            except BrokenProcessPool:
                for index, _ in futures[future]:
                    yield index, [], "the worker process running it died (killed, or out of memory?)"
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class Writer:
    """Writes outputs under the output folder, never over an input and never twice to one name."""

    def __init__(self, out: Path, sources: list[Source], chain: bool) -> None:
        self.out = out
        self.chain = chain
        self.written: set[str] = set()
        self.inputs: set[tuple[int, int]] = set()
        for s in sources:
            try:
                st = s.path.stat()
            except OSError:
                continue
            self.inputs.add((st.st_dev, st.st_ino))

    def write(self, source: Source, name: str, extension: str, data: bytes) -> Path:
        """Write one output; OSError or BatchRefused says why not."""
        target = self.out / output_file(source, name, extension, self.chain)
        try:
            st = target.stat()
        except FileNotFoundError:
            pass
        else:
            if (st.st_dev, st.st_ino) in self.inputs:
                raise BatchRefused(f"{target} is an input: refusing to write over it (choose another -o)")
        key = os.path.realpath(target)
        if key in self.written:
            raise BatchRefused(f"{target} was already written in this run: refusing to write over it")
        self.written.add(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return target
