from __future__ import annotations

from fastapi.testclient import TestClient

from tests import images
from tests.conftest import fetch, submit, upload, wait_for
from tests.principals import account, admin, job_total


def test_chain_pipeline_runs_to_completion_with_steps_and_a_download(any_db_client: TestClient) -> None:
    client = any_db_client
    (asset,) = upload(client, ("q.jpg", images.jpeg(400, 300)))
    job = submit(
        client,
        [asset["id"]],
        [{"op": "resize", "params": {"width": 200}}, {"op": "convert", "params": {"format": "webp", "quality": 90}}],
    )
    assert job["status"] == "PENDING"
    done = wait_for(client, job["id"])
    assert done["status"] == "COMPLETED", done
    (out,) = done["outputs"]
    assert (out["name"], out["format"], out["width"], out["height"]) == ("result", "WEBP", 200, 150)
    im = images.decode(fetch(client, out["url"]))
    assert im.format == "WEBP" and im.size == (200, 150)
    assert images.near(im.getpixel((20, 20)), (255, 0, 0))
    assert images.near(im.getpixel((180, 130)), (255, 255, 255))
    assert [s["op"] for s in done["steps"]] == ["decode", "resize", "convert"]
    assert all(s["ms"] >= 0 for s in done["steps"]) and done["steps"][-1]["ms"] > 0


def test_dag_branches_share_one_resize_and_produce_named_outputs(client: TestClient) -> None:
    (asset,) = upload(client, ("q.jpg", images.jpeg(400, 300)))
    pipeline = {
        "nodes": [
            {"id": "small", "op": "resize", "params": {"width": 100, "height": 100, "fit": "fill"}},
            {"id": "w", "op": "convert", "params": {"format": "webp"}, "inputs": ["small"], "output": "thumb_webp"},
            {"id": "p", "op": "convert", "params": {"format": "png"}, "inputs": ["small"], "output": "thumb_png"},
            {"id": "m", "op": "metadata", "inputs": ["source"], "output": "info"},
        ]
    }
    done = wait_for(client, submit(client, [asset["id"]], pipeline)["id"])
    assert done["status"] == "COMPLETED", done
    outputs = {o["name"]: o for o in done["outputs"]}
    assert set(outputs) == {"thumb_webp", "thumb_png", "info"}
    assert images.decode(fetch(client, outputs["thumb_png"]["url"])).size == (100, 100)
    assert [s["op"] for s in done["steps"]].count("resize") == 1
    assert done["metadata"]["inputs"][0]["info"]["width"] == 400


def test_a_job_over_several_inputs_has_outputs_for_each(client: TestClient) -> None:
    assets = upload(client, ("a.jpg", images.jpeg(400, 300)), ("b.png", images.png(300, 400)))
    done = wait_for(
        client, submit(client, [a["id"] for a in assets], [{"op": "resize", "params": {"width": 30}}])["id"]
    )
    assert done["status"] == "COMPLETED", done
    sizes = {(o["input"], o["format"], o["width"], o["height"]) for o in done["outputs"]}
    assert sizes == {(0, "JPEG", 30, 23), (1, "PNG", 30, 40)}


def test_same_input_and_pipeline_give_identical_bytes(client: TestClient) -> None:
    (asset,) = upload(client, ("q.jpg", images.jpeg(400, 300)))
    pipeline = [{"op": "resize", "params": {"width": 123}}, {"op": "convert", "params": {"format": "avif"}}]
    a = wait_for(client, submit(client, [asset["id"]], pipeline)["id"])
    b = wait_for(client, submit(client, [asset["id"]], pipeline)["id"])
    assert fetch(client, a["outputs"][0]["url"]) == fetch(client, b["outputs"][0]["url"])


def test_invalid_pipelines_are_422_naming_node_and_field(client: TestClient) -> None:
    (asset,) = upload(client, ("q.jpg", images.jpeg()))
    cases = [
        ({"nodes": [{"id": "x", "op": "explode", "output": "o"}]}, ("x", "op", "unknown operation")),
        ({"nodes": [{"id": "x", "op": "resize", "params": {"width": -3}, "output": "o"}]}, ("x", "params.width", "")),
        (
            {"nodes": [{"id": "x", "op": "convert", "params": {"format": "png", "quality": 50}, "output": "o"}]},
            ("x", "params", "quality does not apply to png"),
        ),
        (
            {"nodes": [{"id": "x", "op": "resize", "params": {"width": 5}, "inputs": ["nope"], "output": "o"}]},
            ("x", "inputs", "unknown input"),
        ),
        (
            {
                "nodes": [
                    {"id": "a", "op": "resize", "params": {"width": 5}, "inputs": ["b"]},
                    {"id": "b", "op": "resize", "params": {"width": 5}, "inputs": ["a"], "output": "o"},
                ]
            },
            ("a", "inputs", "cycle"),
        ),
        ({"nodes": [{"id": "x", "op": "resize", "params": {"width": 5}}]}, (None, "output", "no node is marked")),
        (
            {
                "nodes": [
                    {"id": "c", "op": "convert", "params": {"format": "png"}},
                    {"id": "r", "op": "resize", "params": {"width": 5}, "inputs": ["c"], "output": "o"},
                ]
            },
            ("r", "inputs", "takes image"),
        ),
    ]
    for pipeline, (node, field, message) in cases:
        r = client.post("/api/v1/jobs", json={"inputs": [asset["id"]], "pipeline": pipeline})
        assert r.status_code == 422, (pipeline, r.text)
        errors = r.json()["errors"]
        assert any(e["node"] == node and e["field"] == field and message in e["message"] for e in errors), errors


def test_unknown_asset_and_malformed_json_are_422(client: TestClient) -> None:
    r = client.post("/api/v1/jobs", json={"inputs": ["nope"], "pipeline": [{"op": "resize", "params": {"width": 5}}]})
    assert r.status_code == 422 and "nope" in r.json()["detail"]
    r = client.post("/api/v1/jobs", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["title"] == "Invalid request"


def test_json_nested_too_deep_or_not_utf8_is_422_before_parsing(client: TestClient) -> None:
    deep = b'{"inputs": ["a"], "pipeline": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    r = client.post("/api/v1/jobs", content=deep, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "nested more than 64 levels deep" in r.json()["detail"]
    not_utf8 = b'{"inputs": ["\xff"], "pipeline": []}'
    r = client.post("/api/v1/jobs", content=not_utf8, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "not UTF-8" in r.json()["detail"]


def test_truncated_image_fails_the_job_with_a_message(client: TestClient) -> None:
    data = images.jpeg(600, 400)
    (asset,) = upload(client, ("cut.jpg", data[: len(data) // 2]))
    done = wait_for(client, submit(client, [asset["id"]], [{"op": "resize", "params": {"width": 50}}])["id"])
    assert done["status"] == "FAILED"
    assert "truncated" in done["error"]


def test_denoise_without_its_model_fails_saying_which_file_is_missing(client: TestClient) -> None:
    (asset,) = upload(client, ("q.jpg", images.jpeg()))
    done = wait_for(client, submit(client, [asset["id"]], [{"op": "denoise"}])["id"])
    assert done["status"] == "FAILED"
    assert "dncnn/dncnn_color_blind.pth" in done["error"] and "PIXMILL_MODELS_DIR" in done["error"]


def test_exif_orientation_is_applied_before_operations(client: TestClient) -> None:
    (asset,) = upload(client, ("rot.jpg", images.jpeg_with_exif(orientation=6, width=400, height=300)))
    done = wait_for(client, submit(client, [asset["id"]], [{"op": "convert", "params": {"format": "png"}}])["id"])
    im = images.decode(fetch(client, done["outputs"][0]["url"]))
    assert im.size == (300, 400)
    # orientation 6 = rotate 90° clockwise to display: the red top-left quadrant ends up top-right
    assert images.near(im.getpixel((250, 50)), (255, 0, 0))
    assert images.near(im.getpixel((50, 50)), (0, 0, 255))
    assert "exif" not in im.info or im.getexif().get(0x0112, 1) == 1


def test_list_is_paginated_newest_first_and_shows_only_the_callers_jobs(any_db_client: TestClient) -> None:
    client = any_db_client
    ann, bob = account(client, "ann@example.org"), account(client, "bob@example.org")
    (asset,) = upload(client, ("q.jpg", images.jpeg(40, 30)), headers=ann.headers)
    steps = [{"op": "resize", "params": {"width": 10}}]
    ids = [submit(client, [asset["id"]], steps, headers=ann.headers)["id"] for _ in range(5)]
    (other,) = upload(client, ("q.jpg", images.jpeg(40, 30)))  # anonymous: anyone may use it as an input
    bobs = submit(client, [other["id"]], steps, headers=bob.headers)["id"]
    anonymous = submit(client, [other["id"]], steps)["id"]
    page1 = client.get("/api/v1/jobs", params={"limit": 2}, headers=ann.headers).json()
    page2 = client.get("/api/v1/jobs", params={"limit": 2, "offset": 2}, headers=ann.headers).json()
    assert page1["total"] == 5
    assert [j["id"] for j in page1["items"] + page2["items"]] == ids[::-1][:4]
    assert [j["id"] for j in client.get("/api/v1/jobs", headers=bob.headers).json()["items"]] == [bobs]
    r = client.get("/api/v1/jobs")
    assert r.status_code == 401 and "sign in" in r.json()["detail"]
    r = client.get("/api/v1/jobs", params={"owner": ann.id}, headers=bob.headers)
    assert r.status_code == 403 and "admin" in r.json()["detail"]
    boss = admin(client)
    everything = client.get("/api/v1/jobs", params={"limit": 100}, headers=boss.headers).json()
    assert everything["total"] == 7 and {anonymous, bobs, *ids} == {j["id"] for j in everything["items"]}
    only_bob = client.get("/api/v1/jobs", params={"owner": bob.id}, headers=boss.headers).json()
    assert [j["id"] for j in only_bob["items"]] == [bobs] and only_bob["total"] == 1
    assert client.get("/api/v1/jobs", params={"limit": 1000}, headers=ann.headers).status_code == 422
    r = client.get("/api/v1/jobs", params={"offset": "100000000000000000000"}, headers=ann.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.offset"  # beyond 64 bits: no SQL


def test_a_job_may_use_only_the_callers_own_or_anonymous_assets(client: TestClient) -> None:
    ann, bob = account(client, "ann@example.org"), account(client, "bob@example.org")
    (anns,) = upload(client, ("q.jpg", images.jpeg(40, 30)), headers=ann.headers)
    steps = [{"op": "resize", "params": {"width": 10}}]
    theirs = client.post("/api/v1/jobs", json={"inputs": [anns["id"]], "pipeline": steps}, headers=bob.headers)
    unknown = client.post("/api/v1/jobs", json={"inputs": ["f" * 32], "pipeline": steps}, headers=bob.headers)
    assert theirs.status_code == unknown.status_code == 422
    assert theirs.json()["detail"].replace(anns["id"], "X") == unknown.json()["detail"].replace("f" * 32, "X")
    anonymous = client.post("/api/v1/jobs", json={"inputs": [anns["id"]], "pipeline": steps})
    assert anonymous.status_code == 422  # nor may an anonymous caller use a user's asset
    assert client.get(f"/api/v1/uploads/{anns['id']}", headers=bob.headers).status_code == 404
    assert client.get(f"/api/v1/uploads/{anns['id']}").status_code == 404
    assert client.get(f"/api/v1/uploads/{anns['id']}", headers=ann.headers).status_code == 200
    assert client.get(f"/api/v1/uploads/{anns['id']}", headers=admin(client).headers).status_code == 200
    job = submit(client, [anns["id"]], steps, headers=ann.headers)
    assert wait_for(client, job["id"], headers=ann.headers)["status"] == "COMPLETED"
    assert client.get(f"/api/v1/jobs/{job['id']}").status_code == 404  # a user's job is not public by its id


def test_idempotency_keys_are_per_caller(client: TestClient) -> None:
    ann, bob = account(client, "ann@example.org"), account(client, "bob@example.org")
    (asset,) = upload(client, ("q.jpg", images.jpeg(40, 30)))
    body = {"inputs": [asset["id"]], "pipeline": [{"op": "resize", "params": {"width": 10}}]}
    key = {"Idempotency-Key": "same-key"}
    first = client.post("/api/v1/jobs", json=body, headers={**key, **ann.headers}).json()
    again = client.post("/api/v1/jobs", json=body, headers={**key, **ann.headers}).json()
    bobs = client.post("/api/v1/jobs", json=body, headers={**key, **bob.headers}).json()
    anonymous = client.post("/api/v1/jobs", json=body, headers=key).json()
    assert first["id"] == again["id"]
    assert len({first["id"], bobs["id"], anonymous["id"]}) == 3
    r = client.post("/api/v1/jobs", json={**body, "inputs": [asset["id"]] * 2}, headers={**key, **bob.headers})
    assert r.status_code == 422 and "'same-key'" in r.json()["detail"]  # named as the client sent it
    long_key = {"Idempotency-Key": "k" * 255}  # with the caller's prefix too long to store as it is: hashed
    a = client.post("/api/v1/jobs", json=body, headers={**long_key, **ann.headers}).json()
    b = client.post("/api/v1/jobs", json=body, headers={**long_key, **ann.headers}).json()
    assert (
        a["id"] == b["id"] != client.post("/api/v1/jobs", json=body, headers={**long_key, **bob.headers}).json()["id"]
    )


def test_unknown_job_is_404(client: TestClient) -> None:
    r = client.get("/api/v1/jobs/does-not-exist")
    assert r.status_code == 404
    assert "does-not-exist" in r.json()["detail"]


def test_idempotency_key_returns_the_same_job(any_db_client: TestClient) -> None:
    client = any_db_client
    (asset,) = upload(client, ("q.jpg", images.jpeg(40, 30)))
    body = {"inputs": [asset["id"]], "pipeline": [{"op": "resize", "params": {"width": 10}}]}
    a = client.post("/api/v1/jobs", json=body, headers={"Idempotency-Key": "k-1"}).json()
    b = client.post("/api/v1/jobs", json=body, headers={"Idempotency-Key": "k-1"}).json()
    c = client.post("/api/v1/jobs", json=body, headers={"Idempotency-Key": "k-2"}).json()
    assert a["id"] == b["id"] != c["id"]
    assert job_total(client) == 2


def test_an_idempotency_key_reused_with_a_different_request_is_422(any_db_client: TestClient) -> None:
    client = any_db_client
    (asset,) = upload(client, ("q.jpg", images.jpeg(40, 30)))
    body = {"inputs": [asset["id"]], "pipeline": [{"op": "resize", "params": {"width": 10}}]}
    first = client.post("/api/v1/jobs", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 202
    other = {"inputs": [asset["id"]], "pipeline": [{"op": "resize", "params": {"width": 11}}]}
    for changed in (other, {**body, "webhook_url": "http://127.0.0.1:9/hook"}):
        r = client.post("/api/v1/jobs", json=changed, headers={"Idempotency-Key": "k-1"})
        assert (r.status_code, r.headers["content-type"]) == (422, "application/problem+json"), r.text
        assert "already used with a different request" in r.json()["detail"] and first.json()["id"] in r.text
    # The same request spelled differently (key order, spaces) is the same request.
    respelled = b'{"pipeline": [{"params": {"width": 10}, "op": "resize"}],   "inputs": ["%s"]}' % asset["id"].encode()
    r = client.post(
        "/api/v1/jobs", content=respelled, headers={"Idempotency-Key": "k-1", "content-type": "application/json"}
    )
    assert r.status_code == 202 and r.json()["id"] == first.json()["id"]
    assert job_total(client) == 1


def test_catalogue_lists_operations_with_parameter_schemas(client: TestClient) -> None:
    ops = {o["name"]: o for o in client.get("/api/v1/operations").json()}
    assert {"resize", "convert", "metadata", "denoise"} <= set(ops)
    assert "quality" in ops["convert"]["params"]["properties"]
    assert ops["denoise"]["queue"] == "ml"


def test_watermark_reads_another_uploaded_asset(client: TestClient) -> None:
    from PIL import Image

    photo, logo = upload(
        client,
        ("photo.png", images.encode(Image.new("RGB", (200, 100), (0, 0, 0)), "PNG")),
        ("logo.png", images.encode(Image.new("RGB", (40, 20), (255, 255, 255)), "PNG")),
    )
    pipeline = {
        "nodes": [
            {
                "id": "wm",
                "op": "watermark",
                "params": {"position": "southeast", "margin": 0, "opacity": 1.0, "scale": 0.2},
                "inputs": ["source", f"asset:{logo['id']}"],
            },
            {"id": "png", "op": "convert", "params": {"format": "png"}, "inputs": ["wm"], "output": "marked"},
        ]
    }
    done = wait_for(client, submit(client, [photo["id"]], pipeline)["id"])
    assert done["status"] == "COMPLETED", done
    im = images.decode(fetch(client, done["outputs"][0]["url"])).convert("RGB")
    assert images.near(im.getpixel((195, 95)), (255, 255, 255), 5)  # the logo, bottom right
    assert images.near(im.getpixel((5, 5)), (0, 0, 0), 5)
    r = client.post(
        "/api/v1/jobs",
        json={
            "inputs": [photo["id"]],
            "pipeline": {"nodes": [{**pipeline["nodes"][0], "inputs": ["source", "asset:nope"], "output": "o"}]},
        },
    )
    assert r.status_code == 422 and "nope" in r.json()["detail"]


def test_thumbnails_fan_out_into_named_outputs(client: TestClient) -> None:
    (asset,) = upload(client, ("q.jpg", images.jpeg(800, 600)))
    pipeline = [{"op": "thumbnails", "params": {"sizes": [320, 160], "format": "webp"}}]
    done = wait_for(client, submit(client, [asset["id"]], pipeline)["id"])
    assert done["status"] == "COMPLETED", done
    sizes = {o["name"]: (o["width"], o["height"]) for o in done["outputs"]}
    assert sizes == {"result-320w": (320, 240), "result-160w": (160, 120)}
    urls = {o["url"] for o in done["outputs"]}
    assert len(urls) == 2
    assert {images.decode(fetch(client, u)).size for u in urls} == {(320, 240), (160, 120)}
