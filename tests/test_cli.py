from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pixmill import batch
from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.pipeline import parse_pipeline
from pixmill.imaging.step_syntax import parse_step
from tests import images
from tests.conftest import SHARED

DMC = SHARED / "data" / "palettes" / "dmc.csv"


def run(*args: str, cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIXMILL_DATA_DIR": str(cwd / "pixmill-data"), **settings}
    return subprocess.run(
        [sys.executable, "-m", "pixmill", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def assert_user_error(result: subprocess.CompletedProcess[str], code: int, *phrases: str) -> None:
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr


def test_process_runs_the_pipeline_on_local_files(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(images.jpeg(400, 300))
    (tmp_path / "b.png").write_bytes(images.png(200, 400))
    result = run(
        "process", "a.jpg", "b.png", "--op", "resize:width=100", "--op", "webp:quality=80", "-o", "out", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert images.decode((tmp_path / "out" / "a.webp").read_bytes()).size == (100, 75)
    assert images.decode((tmp_path / "out" / "b.webp").read_bytes()).size == (100, 200)


def test_process_writes_metadata_as_json(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(images.jpeg_with_exif(make="CliCam"))
    result = run("process", "a.jpg", "--op", "metadata", "-o", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "out" / "a.result.json").read_text())["exif"]["Make"] == "CliCam"


def test_process_exits_non_zero_on_bad_input_with_a_message(tmp_path: Path) -> None:
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    (tmp_path / "ok.jpg").write_bytes(images.jpeg(40, 30))
    result = run("process", "bad.jpg", "ok.jpg", "missing.jpg", "--op", "png", "-o", "out", cwd=tmp_path)
    assert_user_error(result, 1, "bad.jpg", "not an image", "missing.jpg", "2 of 3 file(s) failed")
    assert (tmp_path / "out" / "ok.png").exists()


def test_process_refuses_a_bad_pipeline_before_touching_files(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(images.jpeg(40, 30))
    result = run("process", "a.jpg", "--op", "png:quality=80", "-o", "out", cwd=tmp_path)
    assert_user_error(result, 2, "quality does not apply to png")
    result = run("process", "a.jpg", "--op", "sparkle", "-o", "out", cwd=tmp_path)
    assert_user_error(result, 2, "unknown operation 'sparkle'")
    assert not (tmp_path / "out").exists()


def test_operations_lists_the_catalogue(tmp_path: Path) -> None:
    result = run("operations", cwd=tmp_path)
    assert result.returncode == 0
    assert "resize" in result.stdout and "convert" in result.stdout


def test_serve_refuses_several_api_processes_in_embedded_mode(tmp_path: Path) -> None:
    env = {**os.environ, "PIXMILL_DATA_DIR": str(tmp_path), "PIXMILL_RUNNER": "inprocess"}
    args = [sys.executable, "-m", "pixmill", "serve", "--workers", "2"]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "needs PIXMILL_RUNNER=celery" in result.stderr


def test_process_runs_files_in_several_processes_with_one_progress_bar(tmp_path: Path) -> None:
    for i in range(6):
        (tmp_path / f"p{i}.jpg").write_bytes(images.jpeg(300 + 20 * i, 200))
    result = run("process", ".", "--op", "resize:width=50", "--op", "webp", "-j", "2", "-o", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "6 of 6 file(s) done" in result.stdout and "with 2 processes" in result.stdout
    for i in range(6):
        assert images.decode((tmp_path / "out" / f"p{i}.webp").read_bytes()).width == 50


def test_process_never_writes_over_an_input(tmp_path: Path) -> None:
    original = images.png(40, 30)
    (tmp_path / "x.png").write_bytes(original)
    (tmp_path / "y.jpg").write_bytes(images.jpeg(40, 30))
    result = run("process", "x.png", "y.jpg", "--op", "resize:width=20", "--op", "png", "-o", ".", cwd=tmp_path)
    assert_user_error(result, 1, "x.png is an input: refusing to write over it")
    assert (tmp_path / "x.png").read_bytes() == original
    assert images.decode((tmp_path / "y.png").read_bytes()).width == 20  # beside its input, not over it


def test_named_files_from_several_folders_mirror_their_tree(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.png").write_bytes(images.png(40 if folder == "a" else 60, 30))
    result = run("process", "a/x.png", "b/x.png", "--op", "webp", "-o", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert images.decode((tmp_path / "out" / "a" / "x.webp").read_bytes()).width == 40
    assert images.decode((tmp_path / "out" / "b" / "x.webp").read_bytes()).width == 60


def test_two_inputs_that_would_share_an_output_name_are_refused_before_anything_runs(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.png").write_bytes(images.png(40, 30))
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "y.png").write_bytes(images.png(40, 30))
    (tmp_path / "c" / "y.jpg").write_bytes(images.jpeg(40, 30))
    result = run("process", "a", "b", "--op", "webp", "-o", "out", cwd=tmp_path)
    assert_user_error(result, 2, "two inputs would land on one output name", "a/x.png and b/x.png")
    result = run("process", "c", "--op", "webp", "-o", "out", cwd=tmp_path)
    assert_user_error(result, 2, "c/y.jpg and c/y.png")
    assert not (tmp_path / "out").exists()


def test_folders_are_inputs_and_recursive_mirrors_subfolders(tmp_path: Path) -> None:
    (tmp_path / "photos" / "2026" / "may").mkdir(parents=True)
    (tmp_path / "photos" / "top.jpg").write_bytes(images.jpeg(80, 60))
    (tmp_path / "photos" / "2026" / "may" / "deep.png").write_bytes(images.png(80, 60))
    (tmp_path / "photos" / "notes.txt").write_text("not an image")
    result = run("process", "photos", "--op", "resize:width=40", "-o", "flat", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "flat").rglob("*") if p.is_file()) == ["top.jpg"]
    result = run("process", "photos", "-r", "--op", "resize:width=40", "-o", "tree", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert images.decode((tmp_path / "tree" / "2026" / "may" / "deep.png").read_bytes()).size == (40, 30)
    assert (tmp_path / "tree" / "top.jpg").exists() and not (tmp_path / "tree" / "notes.json").exists()
    assert_user_error(run("process", "empty", "--op", "png", cwd=tmp_path), 1, "empty")
    (tmp_path / "nothing").mkdir()
    assert_user_error(run("process", "nothing", "--op", "png", cwd=tmp_path), 2, "no images to process")


def test_pipeline_file_runs_a_dag_with_several_named_outputs(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(images.jpeg(400, 300))
    spec = {
        "nodes": [
            {"id": "small", "op": "resize", "params": {"width": 100}},
            {"id": "web", "op": "convert", "params": {"format": "webp"}, "inputs": ["small"], "output": "small"},
            {"id": "grey", "op": "grayscale", "inputs": ["small"], "output": "grey"},
            {"id": "thumbs", "op": "thumbnails", "params": {"sizes": [40, 80]}, "output": "thumb"},
            {"id": "meta", "op": "metadata", "output": "info"},
        ]
    }
    (tmp_path / "web.json").write_text(json.dumps(spec))
    result = run("process", "a.jpg", "--pipeline", "web.json", "-o", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "a.grey.jpg",
        "a.info.json",
        "a.small.webp",
        "a.thumb-40w.webp",
        "a.thumb-80w.webp",
    ]
    assert images.decode((out / "a.grey.jpg").read_bytes()).mode == "L"
    assert images.decode((out / "a.thumb-80w.webp").read_bytes()).size == (80, 60)
    assert json.loads((out / "a.info.json").read_text())["width"] == 400


def test_pipeline_file_errors_are_clear(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(images.jpeg(40, 30))
    (tmp_path / "bad.json").write_text("{nodes: }")
    (tmp_path / "cycle.json").write_text(json.dumps({"nodes": [{"id": "x", "op": "blur", "inputs": ["x"]}]}))
    assert_user_error(run("process", "a.jpg", "--pipeline", "bad.json", cwd=tmp_path), 2, "bad.json is not JSON")
    assert_user_error(run("process", "a.jpg", "--pipeline", "none.json", cwd=tmp_path), 2, "none.json")
    assert_user_error(run("process", "a.jpg", "--pipeline", "cycle.json", cwd=tmp_path), 2, "not valid")
    both = run("process", "a.jpg", "--pipeline", "bad.json", "--op", "png", cwd=tmp_path)
    assert_user_error(both, 2, "not both")
    assert_user_error(run("process", "a.jpg", cwd=tmp_path), 2, "give the steps to run")


def test_list_parameters_and_fan_out_names_on_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(images.jpeg(400, 300))
    result = run("process", "a.jpg", "--op", "thumbnails:sizes=160;320,format=jpeg", "-o", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert images.decode((tmp_path / "out" / "a.result-160w.jpg").read_bytes()).size == (160, 120)
    assert images.decode((tmp_path / "out" / "a.result-320w.jpg").read_bytes()).size == (320, 240)


CANVAS = "canvas_preview:cols=20,rows=16,max_colors=8,preview_width=200"


def test_canvas_preview_with_a_palette_file(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(images.jpeg(400, 300))
    result = run("process", "a.jpg", "--op", CANVAS, "--palette", str(DMC), "-o", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert images.decode((tmp_path / "out" / "a.png").read_bytes()).size == (200, 160)
    named = run(
        "process", "a.jpg", "--op", CANVAS + ",palette=shop", "--palette", f"shop={DMC}", "-o", "o2", cwd=tmp_path
    )
    assert named.returncode == 0, named.stderr


def test_canvas_preview_with_a_palette_from_the_database(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(images.jpeg(400, 300))
    missing = run("process", "a.jpg", "--op", CANVAS, "-o", "out", cwd=tmp_path)
    assert_user_error(missing, 2, "no palette 'dmc'", "pixmill palettes import", "--palette")
    imported = run("palettes", "import", "dmc", str(DMC), cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    result = run("process", "a.jpg", "--op", CANVAS, "-o", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert images.decode((tmp_path / "out" / "a.png").read_bytes()).size == (200, 160)


def test_bad_palette_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(images.jpeg(40, 30))
    (tmp_path / "bad.csv").write_text("code,name,r,g,b\n310,Black,0,0\n")
    result = run("process", "a.jpg", "--op", CANVAS, "--palette", "dmc=bad.csv", cwd=tmp_path)
    assert_user_error(result, 2, "bad.csv", "line 2")
    result = run("process", "a.jpg", "--op", CANVAS, "--palette", "nope.csv", cwd=tmp_path)
    assert_user_error(result, 2, "nope.csv")


def test_an_output_folder_that_cannot_be_written_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(images.jpeg(40, 30))
    (tmp_path / "file").write_text("a file")
    result = run("process", "a.jpg", "--op", "png", "-o", "file", cwd=tmp_path)
    assert_user_error(result, 2, "the output folder file is a file")
    result = run("process", "a.jpg", "--op", "png", "-o", "file/out", cwd=tmp_path)
    assert_user_error(result, 2, "cannot create the output folder file/out")


def test_help_shows_readable_types(tmp_path: Path) -> None:
    result = run("process", "--help", cwd=tmp_path)
    assert result.returncode == 0
    text = result.stdout
    assert "NAME:KEY=VALUE" in text and "FILE.json" in text and "FOLDER" in text
    for unreadable in ("<list[", "<bool>", "<Path>", "<int"):
        assert unreadable not in text
    serve = run("serve", "--help", cwd=tmp_path).stdout
    assert "INTEGER" in serve and "<int>" not in serve


def test_canvas_writes_plan_preview_and_guide_from_a_palette_file_or_the_database(tmp_path: Path) -> None:
    (tmp_path / "p.jpg").write_bytes(images.jpeg(400, 300))
    settings = "cols=40,rows=30,max_colors=10"
    result = run("canvas", "p.jpg", "--palette", str(DMC), "--canvas", settings, "-o", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    plan = json.loads((tmp_path / "out" / "p.plan.json").read_text())
    assert (plan["cols"], plan["rows"]) == (40, 30) and len(plan["legend"]) <= 10
    assert images.decode((tmp_path / "out" / "p.preview.png").read_bytes()).width == 2400
    assert (tmp_path / "out" / "p.guide.pdf").read_bytes().startswith(b"%PDF")
    assert_user_error(run("canvas", "p.jpg", "--canvas", settings, "-o", "db", cwd=tmp_path), 2, "no palette 'dmc'")
    assert run("palettes", "import", "dmc", str(DMC), cwd=tmp_path).returncode == 0
    (tmp_path / "q.png").write_bytes(images.png(300, 400))
    result = run("canvas", ".", "--canvas", settings, "--no-guide", "-j", "2", "-o", "db", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = ["p.plan.json", "p.preview.png", "q.plan.json", "q.preview.png"]
    assert sorted(p.name for p in (tmp_path / "db").iterdir()) == names
    assert "2 of 2 canvas(es)" in result.stdout


def test_canvas_errors_are_clear(tmp_path: Path) -> None:
    (tmp_path / "p.jpg").write_bytes(images.jpeg(400, 300))
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    bogus = run("canvas", "p.jpg", "--palette", str(DMC), "--canvas", "cols=40,sparkle=1", cwd=tmp_path)
    assert_user_error(bogus, 2, "sparkle: Extra inputs are not permitted")
    assert_user_error(run("canvas", "p.jpg", "--palette", str(DMC), "--paper", "A5", cwd=tmp_path), 2, "A4")
    result = run("canvas", "bad.jpg", "--palette", str(DMC), "--canvas", "cols=10,rows=10", "-o", "o", cwd=tmp_path)
    assert_user_error(result, 1, "bad.jpg")


def test_an_output_folder_inside_the_input_folder_is_not_taken_as_input(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(images.jpeg(80, 60))
    for _ in range(2):
        result = run("process", "photos", "-r", "--op", "webp", "-o", "photos/web", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "1 of 1 file(s) done" in result.stdout
    assert [p.name for p in (tmp_path / "photos" / "web").iterdir()] == ["a.webp"]


_real_run_one = batch.run_one


def _dies_on_b(task: tuple[int, str]) -> batch.Outcome:
    if task[1].endswith("b.png"):
        os._exit(1)  # as a worker killed for memory would
    return _real_run_one(task)


def test_a_worker_process_that_dies_fails_its_files_not_the_batch(tmp_path: Path, monkeypatch) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.png").write_bytes(images.png(40, 30))
    monkeypatch.setattr(batch, "run_one", _dies_on_b)  # the forked workers inherit it
    sources = batch.collect([tmp_path])
    job = batch.PipelineJob(parse_pipeline([parse_step("webp")]).to_json(), RunContext())
    outcomes = list(batch.run_all(sources, job, jobs=2))
    assert sorted(index for index, _, _ in outcomes) == [0, 1, 2]
    errors = {sources[index].path.name: error for index, _, error in outcomes}
    assert "worker process running it died" in (errors["b.png"] or "")


def test_bad_settings_and_an_unreachable_database_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(images.jpeg(40, 30))
    result = run("process", "a.jpg", "--op", "png", "-o", "out", cwd=tmp_path, PIXMILL_MAX_PIXELS="many")
    assert_user_error(result, 2, "invalid settings", "PIXMILL_MAX_PIXELS")
    unreachable = "postgresql+psycopg://pixmill:secret@127.0.0.1:1/pixmill"
    result = run("process", "a.jpg", "--op", CANVAS, "-o", "out", cwd=tmp_path, PIXMILL_DATABASE_URL=unreachable)
    assert_user_error(result, 2, "the database cannot be used", "127.0.0.1:1")
    assert "secret" not in result.stderr


def test_canvas_bw_writes_the_black_and_white_guide(tmp_path: Path) -> None:
    (tmp_path / "p.jpg").write_bytes(images.jpeg(200, 150))
    settings = ["--palette", str(DMC), "--canvas", "cols=20,rows=15,max_colors=6"]
    assert run("canvas", "p.jpg", *settings, "-o", "colour", cwd=tmp_path).returncode == 0
    result = run("canvas", "p.jpg", *settings, "--bw", "-o", "bw", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    colour, bw = ((tmp_path / d / "p.guide.pdf").read_bytes() for d in ("colour", "bw"))
    assert b"/DeviceGray" in bw and b"/DeviceRGB" not in bw  # the cover preview in grey, nothing in colour
    assert b"/DeviceRGB" in colour
    assert (tmp_path / "colour" / "p.plan.json").read_bytes() == (tmp_path / "bw" / "p.plan.json").read_bytes()
