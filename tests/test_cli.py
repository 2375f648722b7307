from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests import images


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pixmill", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


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
    assert result.returncode == 1
    assert "bad.jpg" in result.stdout + result.stderr and "not an image" in result.stdout + result.stderr
    assert "missing.jpg" in result.stdout + result.stderr
    assert (tmp_path / "out" / "ok.png").exists()


def test_process_refuses_a_bad_pipeline_before_touching_files(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(images.jpeg(40, 30))
    result = run("process", "a.jpg", "--op", "png:quality=80", cwd=tmp_path)
    assert result.returncode == 2
    assert "quality does not apply to png" in result.stderr
    result = run("process", "a.jpg", "--op", "sparkle", cwd=tmp_path)
    assert result.returncode == 2 and "unknown operation 'sparkle'" in result.stderr


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
