from __future__ import annotations

import hashlib
import time

from fastapi.testclient import TestClient

from pixmill.app import create_app
from tests import images
from tests.conftest import make_settings, upload


def test_upload_one_returns_the_asset_record(client: TestClient) -> None:
    data = images.jpeg(320, 200)
    (asset,) = upload(client, ("photo.jpg", data))
    assert asset["format"] == "JPEG"
    assert (asset["width"], asset["height"]) == (320, 200)
    assert asset["bytes"] == len(data)
    assert asset["sha256"] == hashlib.sha256(data).hexdigest()
    assert asset["filename"] == "photo.jpg"
    assert client.get(f"/api/v1/uploads/{asset['id']}").json()["sha256"] == asset["sha256"]


def test_a_large_upload_is_stored_from_its_spooled_file_byte_for_byte(client: TestClient, settings) -> None:
    """A file over the server's 1 MB spool threshold (kept on disk, copied in chunks) is stored unchanged."""
    data = images.encode(images.noise(900, 700), "PNG")
    assert len(data) > 1024 * 1024
    (asset,) = upload(client, ("noise.png", data), content_type="image/png")
    assert (asset["format"], asset["width"], asset["height"], asset["bytes"]) == ("PNG", 900, 700, len(data))
    assert asset["sha256"] == hashlib.sha256(data).hexdigest()
    assert (settings.resolved_storage_dir / "uploads" / asset["id"]).read_bytes() == data


def test_upload_many_in_one_request(client: TestClient) -> None:
    assets = upload(
        client, ("a.jpg", images.jpeg(100, 80)), ("b.png", images.png(60, 40)), ("c.jpg", images.jpeg(10, 20))
    )
    assert [(a["format"], a["width"], a["height"]) for a in assets] == [
        ("JPEG", 100, 80),
        ("PNG", 60, 40),
        ("JPEG", 10, 20),
    ]
    assert len({a["id"] for a in assets}) == 3


def test_format_is_judged_by_content_not_by_name_or_content_type(client: TestClient) -> None:
    (asset,) = upload(client, ("liar.jpg", images.png(30, 30)), content_type="image/jpeg")
    assert asset["format"] == "PNG"


def test_not_an_image_is_415_with_a_message(client: TestClient) -> None:
    r = client.post("/api/v1/uploads", files={"files": ("evil.jpg", b"<svg onload=alert(1)>", "image/jpeg")})
    assert r.status_code == 415
    assert r.headers["content-type"] == "application/problem+json"
    assert "evil.jpg" in r.json()["detail"] and "not an image" in r.json()["detail"]


def test_empty_file_is_refused(client: TestClient) -> None:
    r = client.post("/api/v1/uploads", files={"files": ("empty.png", b"", "image/png")})
    assert r.status_code == 415
    assert "empty" in r.json()["detail"]


def test_one_bad_file_in_a_batch_keeps_nothing(client: TestClient, settings) -> None:
    r = client.post(
        "/api/v1/uploads",
        files=[("files", ("ok.jpg", images.jpeg(), "image/jpeg")), ("files", ("bad.jpg", b"nope", "image/jpeg"))],
    )
    assert r.status_code == 415
    uploads = settings.resolved_storage_dir / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_decompression_bomb_is_refused_before_decoding(client: TestClient) -> None:
    bomb = images.png_bomb(16384, 16384)
    assert len(bomb) < 32 * 1024
    started = time.perf_counter()
    r = client.post("/api/v1/uploads", files={"files": ("bomb.png", bomb, "image/png")})
    assert r.status_code == 413
    assert time.perf_counter() - started < 2.0
    assert "16384x16384" in r.json()["detail"]


def test_file_over_the_size_limit_is_413(tmp_path) -> None:
    with TestClient(create_app(make_settings(tmp_path, max_upload_bytes=10_000))) as c:
        r = c.post(
            "/api/v1/uploads",
            files={"files": ("big.jpg", images.encode(images.noise(200, 200), "JPEG", quality=95), "image/jpeg")},
        )
        assert r.status_code == 413
        assert "10000" in r.json()["detail"]


def test_request_body_over_the_limit_is_413_with_or_without_content_length(tmp_path) -> None:
    with TestClient(create_app(make_settings(tmp_path, max_request_bytes=50_000))) as c:
        big = images.encode(images.noise(300, 300), "JPEG", quality=95)
        assert len(big) > 50_000
        r = c.post("/api/v1/uploads", files={"files": ("big.jpg", big, "image/jpeg")})
        assert r.status_code == 413
        assert "50000" in r.json()["detail"]

        def chunks():
            yield b'--x\r\nContent-Disposition: form-data; name="files"; filename="a.jpg"\r\n\r\n'
            for _ in range(20):
                yield b"\0" * 10_000

        r = c.post("/api/v1/uploads", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"})
        assert r.status_code == 413


def test_too_many_files_is_413(tmp_path) -> None:
    with TestClient(create_app(make_settings(tmp_path, max_files_per_upload=2))) as c:
        files = [("files", (f"{i}.png", images.png(8, 8), "image/png")) for i in range(3)]
        r = c.post("/api/v1/uploads", files=files)
        assert r.status_code == 413
        assert "at most 2" in r.json()["detail"]


def test_exif_orientation_gives_the_displayed_size(client: TestClient) -> None:
    (asset,) = upload(client, ("rotated.jpg", images.jpeg_with_exif(orientation=6, width=400, height=300)))
    assert (asset["width"], asset["height"]) == (300, 400)


def test_unknown_asset_is_404(client: TestClient) -> None:
    r = client.get("/api/v1/uploads/0123")
    assert r.status_code == 404
    assert r.json()["title"] == "Asset not found"
