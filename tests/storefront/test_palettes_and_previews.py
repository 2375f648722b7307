from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests import images
from tests.conftest import upload
from tests.principals import Account, account
from tests.storefront.conftest import DMC, STAFF


def user(client: TestClient) -> Account:
    return account(client, "plain@example.org")


def test_palette_import_versions_and_lists(shop: TestClient) -> None:
    r = shop.post("/api/v1/palettes", data={"name": "dmc"}, files={"file": ("p.csv", DMC.read_bytes())}, headers=STAFF)
    assert r.json() == {"name": "dmc", "version": 2, "colors": 490}
    assert [(p["name"], p["version"]) for p in shop.get("/api/v1/palettes").json()] == [("dmc", 1), ("dmc", 2)]
    detail = shop.get("/api/v1/palettes/dmc", params={"version": 1}).json()
    assert detail["version"] == 1 and len(detail["entries"]) == 490
    assert shop.get("/api/v1/palettes/nope").status_code == 404


def test_bad_palette_rows_are_422_with_line_numbers(shop: TestClient) -> None:
    csv = b"code,name,r,g,b\n1,White,255,255,255\n1,Again,0,0,0\n2,Bad,300,0,0\n3,Short,1,2\n"
    r = shop.post("/api/v1/palettes", data={"name": "bad"}, files={"file": ("p.csv", csv)}, headers=STAFF)
    assert r.status_code == 422, r.text
    lines = {e["line"] for e in r.json()["errors"]}
    assert {3, 4, 5} <= lines
    assert shop.get("/api/v1/palettes/bad").status_code == 404
    r = shop.post("/api/v1/palettes", data={"name": "x"}, files={"file": ("p.csv", csv)})
    assert r.status_code == 401
    r = shop.post(
        "/api/v1/palettes", data={"name": "x"}, files={"file": ("p.csv", csv)}, headers={"X-API-Key": b"\xc3\xa9"}
    )
    assert r.status_code == 401  # a non-ASCII key is refused as any unknown key is, not a TypeError
    r = shop.post("/api/v1/palettes", data={"name": "x"}, files={"file": ("p.csv", csv)}, headers=user(shop).headers)
    assert r.status_code == 403 and "'palettes' scope" in r.json()["detail"]


def test_integers_beyond_64_bits_are_422_never_reaching_the_database(shop: TestClient) -> None:
    r = shop.get("/api/v1/palettes/dmc", params={"version": "100000000000000000000"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.version"
    (asset,) = upload(shop, ("p.jpg", images.jpeg(40, 50)))
    r = shop.post("/api/v1/canvas/previews", json={"asset_id": asset["id"], "palette_version": 1e20})
    assert r.status_code == 422 and "palette_version" in r.json()["detail"]
    r = shop.get("/api/v1/storefront/orders", params={"offset": 2**63}, headers=STAFF)
    assert r.status_code == 422


def test_preview_gives_an_image_a_legend_and_a_quality_report(shop: TestClient) -> None:
    (asset,) = upload(shop, ("p.jpg", images.jpeg(400, 500)))
    body = {
        "asset_id": asset["id"],
        "palette": "dmc",
        "canvas": {"cols": 32, "rows": 40, "max_colors": 12},
        "width": 640,
    }
    r = shop.post("/api/v1/canvas/previews", json=body)
    assert r.status_code == 200, r.text
    preview = r.json()
    assert (preview["cols"], preview["rows"], preview["palette_version"]) == (32, 40, 1)
    assert sum(e["count"] for e in preview["legend"]) == 32 * 40
    assert len(preview["legend"]) <= 12
    assert {"mean_delta_e", "p95_delta_e", "isolated_share", "colors_used"} <= set(preview["quality"])
    assert 0 <= preview["quality"]["mean_delta_e"] <= preview["quality"]["p95_delta_e"]
    im = images.decode(shop.get(preview["preview_url"]).content)
    assert im.width == 640
    again = shop.post("/api/v1/canvas/previews", json=body).json()
    assert again["legend"] == preview["legend"]


def test_preview_errors(shop: TestClient) -> None:
    (asset,) = upload(shop, ("p.jpg", images.jpeg(40, 50)))
    assert shop.post("/api/v1/canvas/previews", json={"asset_id": "nope"}).status_code == 404
    assert shop.post("/api/v1/canvas/previews", json={"asset_id": asset["id"], "palette": "none"}).status_code == 404
    r = shop.post("/api/v1/canvas/previews", json={"asset_id": asset["id"], "canvas": {"max_colors": 0}})
    assert r.status_code == 422


def test_cli_palette_import(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PIXMILL_DATA_DIR": str(tmp_path)}
    ok = subprocess.run(
        [sys.executable, "-m", "pixmill", "palettes", "import", "dmc", str(DMC)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and "version 1: 490 colours" in ok.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,r,g,b\nA,x,1,2,999\n")
    out = subprocess.run(
        [sys.executable, "-m", "pixmill", "palettes", "import", "bad", str(bad)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1 and "line 2" in out.stderr


def test_canvas_preview_is_reachable_as_a_signed_render_url_and_a_job(shop: TestClient) -> None:
    from pixmill.render.service import sign_path
    from tests.conftest import submit, wait_for

    (asset,) = upload(shop, ("p.jpg", images.jpeg(400, 500)))
    path = f"canvas_preview:palette=dmc,cols=32,rows=40,max_colors=12,preview_width=320/{asset['id']}"
    key = shop.app.state.ctx.settings.signing_key  # type: ignore[attr-defined]
    r = shop.get(f"/render/{sign_path(key, path, None)}/{path}")  # an anonymous asset
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png" and images.decode(r.content).size == (320, 400)
    preview = shop.post(
        "/api/v1/canvas/previews",
        json={"asset_id": asset["id"], "canvas": {"cols": 32, "rows": 40, "max_colors": 12}, "width": 320},
    ).json()
    assert shop.get(preview["preview_url"]).content == r.content  # one engine, one result
    job = submit(shop, [asset["id"]], [{"op": "canvas_preview", "params": {"palette": "dmc", "cols": 8, "rows": 10}}])
    done = wait_for(shop, job["id"])
    assert done["status"] == "COMPLETED" and done["outputs"][0]["format"] == "PNG"
    missing = submit(
        shop, [asset["id"]], [{"op": "canvas_preview", "params": {"palette": "nope", "cols": 8, "rows": 10}}]
    )
    failed = wait_for(shop, missing["id"])
    assert failed["status"] == "FAILED" and "nope" in failed["error"]
