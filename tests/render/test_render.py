from __future__ import annotations

from fastapi.testclient import TestClient

from pixmill.app import create_app
from pixmill.render.service import sign_path
from tests import images
from tests.conftest import make_settings, upload
from tests.principals import account


def _url(settings, path: str, owner_id: str | None = None) -> str:
    return f"/render/{sign_path(settings.signing_key, path, owner_id)}/{path}"


def test_signed_render_url_renders_and_then_serves_the_cache(client: TestClient, settings) -> None:
    (asset,) = upload(client, ("q.jpg", images.jpeg(400, 300)))
    path = f"resize:width=100/webp:quality=70/{asset['id']}"
    first = client.get(_url(settings, path))
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "image/webp"
    assert first.headers["x-cache"] == "miss"
    assert images.decode(first.content).size == (100, 75)
    second = client.get(_url(settings, path))
    assert second.headers["x-cache"] == "hit" and second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    assert "max-age=" in second.headers["cache-control"]
    not_modified = client.get(_url(settings, path), headers={"If-None-Match": first.headers["etag"]})
    assert not_modified.status_code == 304 and not_modified.content == b""


def test_same_content_and_pipeline_share_the_cache_whatever_the_spelling(client: TestClient, settings) -> None:
    a, b = upload(client, ("a.jpg", images.jpeg(400, 300)), ("b.jpg", images.jpeg(400, 300)))
    first = client.get(_url(settings, f"resize:width=100/webp:quality=70/{a['id']}"))
    other = client.get(_url(settings, f"resize:width=100,fit=fit/convert:format=webp,quality=70/{b['id']}"))
    assert first.headers["etag"] == other.headers["etag"]
    assert other.headers["x-cache"] == "hit"


def test_bad_or_missing_signature_is_403(client: TestClient, settings) -> None:
    (asset,) = upload(client, ("q.jpg", images.jpeg()))
    path = f"resize:width=100/{asset['id']}"
    good = sign_path(settings.signing_key, path, None)
    assert client.get(f"/render/{good}/resize:width=101/{asset['id']}").status_code == 403
    assert client.get(f"/render/{'A' * 32}/{path}").status_code == 403
    assert client.get(f"/render/unsafe/{path}").status_code == 403


def test_unsigned_urls_only_when_enabled(tmp_path) -> None:
    with TestClient(create_app(make_settings(tmp_path, render_allow_unsigned=True))) as c:
        (asset,) = upload(c, ("q.jpg", images.jpeg(400, 300)))
        r = c.get(f"/render/unsafe/resize:width=40/png/{asset['id']}")
        assert r.status_code == 200 and images.decode(r.content).size == (40, 30)


def test_render_errors_are_clear(client: TestClient, settings) -> None:
    (asset,) = upload(client, ("q.jpg", images.jpeg()))
    r = client.get(_url(settings, f"explode/{asset['id']}"))
    assert r.status_code == 422 and "unknown operation" in str(r.json()["errors"])
    r = client.get(_url(settings, "resize:width=10/0123456789abcdef"))
    assert r.status_code == 404
    r = client.get(_url(settings, f"png:quality=5/{asset['id']}"))
    assert r.status_code == 422


def test_sign_endpoint_returns_a_working_url(client: TestClient) -> None:
    ann = account(client, "ann@example.org")
    (asset,) = upload(client, ("q.jpg", images.jpeg(400, 300)), headers=ann.headers)
    path = f"resize:width=50/jpeg:quality=60/{asset['id']}"
    assert client.post("/api/v1/render-urls", json={"path": path}).status_code == 401  # anonymous
    signed = client.post("/api/v1/render-urls", json={"path": path}, headers=ann.headers)
    assert signed.status_code == 200
    r = client.get(signed.json()["url"])  # a capability: no credential needed to render it
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert images.decode(r.content).size == (50, 38)
    assert client.post("/api/v1/render-urls", json={"path": "nope"}, headers=ann.headers).status_code == 422
    no_scope = account(client, "kim@example.org", scopes=["jobs"])
    r = client.post("/api/v1/render-urls", json={"path": path}, headers=no_scope.headers)
    assert r.status_code == 403 and "render:sign" in r.json()["detail"]


def test_a_signature_binds_the_assets_owner(client: TestClient, settings) -> None:
    ann, bob = account(client, "ann@example.org"), account(client, "bob@example.org")
    (mine,) = upload(client, ("a.jpg", images.jpeg(400, 300)), headers=ann.headers)
    (theirs,) = upload(client, ("b.jpg", images.jpeg(400, 300)), headers=bob.headers)
    (anon,) = upload(client, ("c.jpg", images.jpeg(400, 300)))
    # Ann may sign her own asset and anonymous ones, never Bob's (answered as for an unknown asset).
    r = client.post("/api/v1/render-urls", json={"path": f"png/{theirs['id']}"}, headers=ann.headers)
    unknown = client.post("/api/v1/render-urls", json={"path": "png/0123456789abcdef"}, headers=ann.headers)
    assert r.status_code == unknown.status_code == 404
    assert r.json()["detail"].replace(theirs["id"], "X") == unknown.json()["detail"].replace("0123456789abcdef", "X")
    r = client.post("/api/v1/render-urls", json={"path": f"png/{anon['id']}"}, headers=ann.headers)
    assert r.status_code == 200 and client.get(r.json()["url"]).status_code == 200
    # A signature Ann got for her asset is no key to Bob's: the owner is part of what is signed.
    signed = client.post("/api/v1/render-urls", json={"path": f"png/{mine['id']}"}, headers=ann.headers).json()["url"]
    signature = signed.split("/render/", 1)[1].split("/", 1)[0]
    assert client.get(signed).status_code == 200
    assert client.get(f"/render/{signature}/png/{theirs['id']}").status_code == 403
    assert client.get(_url(settings, f"png/{theirs['id']}")).status_code == 403  # signed as if anonymous
    assert client.get(_url(settings, f"png/{mine['id']}", bob.id)).status_code == 403  # signed for another owner
    assert client.get(_url(settings, f"png/{mine['id']}", ann.id)).status_code == 200


def test_unsigned_urls_reach_anonymous_assets_only(tmp_path) -> None:
    with TestClient(create_app(make_settings(tmp_path, render_allow_unsigned=True))) as c:
        ann = account(c, "ann@example.org")
        (mine,) = upload(c, ("q.jpg", images.jpeg(400, 300)), headers=ann.headers)
        assert c.get(f"/render/unsafe/png/{mine['id']}").status_code == 404


def test_list_parameters_use_the_cli_syntax_in_render_urls(client: TestClient, settings) -> None:
    (asset,) = upload(client, ("q.jpg", images.jpeg(400, 300)))
    r = client.get(_url(settings, f"pad:width=500,height=300,background=0;0;255/png/{asset['id']}"))
    assert r.status_code == 200, r.text
    assert images.near(images.decode(r.content).convert("RGB").getpixel((10, 150)), (0, 0, 255))
    r = client.get(_url(settings, f"thumbnails:sizes=120/{asset['id']}"))  # one item: a list of one
    assert r.status_code == 200 and images.decode(r.content).size == (120, 90)
    r = client.get(_url(settings, f"thumbnails:sizes=120;240/{asset['id']}"))  # two outputs: not one image
    assert r.status_code == 422 and "exactly one result" in r.text


def test_a_non_ascii_signature_is_403(client: TestClient) -> None:
    r = client.get("/render/%C3%A9/webp/x")
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"


def test_a_path_nested_too_deep_is_422_not_a_crash(client: TestClient) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    ann = account(client, "ann@example.org")
    r = client.post("/api/v1/render-urls", json={"path": f"pad:width=10,background={deep}/abc"}, headers=ann.headers)
    assert r.status_code == 422, r.text
