"""Signed download URLs: valid ones serve the file, anything tampered or expired is 403."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi.testclient import TestClient

from pixmill.adapters.storage.signing import sign
from tests import images
from tests.conftest import submit, upload, wait_for


def _job(client: TestClient) -> dict:
    (asset,) = upload(client, ("q.jpg", images.jpeg(80, 60)))
    return wait_for(client, submit(client, [asset["id"]], [{"op": "convert", "params": {"format": "png"}}])["id"])


def _with(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return f"{parts.path}?{urlencode(query)}"


def test_signed_url_serves_the_output_until_the_data_expires(client: TestClient) -> None:
    job = _job(client)
    url = job["outputs"][0]["url"]
    r = client.get(url)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert images.decode(r.content).size == (80, 60)
    expires = int(parse_qs(urlsplit(url).query)["expires"][0])
    assert abs(expires - datetime.fromisoformat(job["expires_at"]).timestamp()) < 1


def test_tampering_with_any_part_is_403(client: TestClient) -> None:
    url = _job(client)["outputs"][0]["url"]
    query = parse_qs(urlsplit(url).query)
    sig = query["signature"][0]
    assert client.get(_with(url, signature=("0" if sig[0] != "0" else "1") + sig[1:])).status_code == 403
    assert client.get(_with(url, expires=str(int(query["expires"][0]) + 3600))).status_code == 403
    assert client.get(_with(url, filename="other.png")).status_code == 403
    other = urlsplit(url).path.replace("/0/", "/1/")
    assert client.get(other + "?" + urlsplit(url).query).status_code == 403
    assert client.get(urlsplit(url).path).status_code == 403


def test_an_expired_link_is_403(client: TestClient, settings) -> None:
    job = _job(client)
    key = urlsplit(job["outputs"][0]["url"]).path.removeprefix("/files/")
    past = int((datetime.now(UTC) - timedelta(seconds=5)).timestamp())
    query = urlencode({"expires": past, "signature": sign(settings.signing_key, key, past, None)})
    assert client.get(f"/files/{key}?{query}").status_code == 403


def test_a_key_cannot_escape_the_storage_root_even_when_signed(client: TestClient, settings) -> None:
    future = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    for key in ("../secret.key", "results/../../secret.key", "/etc/passwd", "uploads/%2e%2e/x"):
        query = urlencode({"expires": future, "signature": sign(settings.signing_key, key, future, None)})
        r = client.get(f"/files/{key}?{query}")
        assert r.status_code in (403, 404), (key, r.status_code)
        assert b"test-secret" not in r.content and b"root:" not in r.content


def test_urls_are_made_for_the_host_the_client_used(client: TestClient) -> None:
    job = _job(client)
    again = client.get(f"/api/v1/jobs/{job['id']}", headers={"host": "images.example.org"}).json()
    assert again["outputs"][0]["url"].startswith("http://images.example.org/files/")


def test_a_non_ascii_signature_is_403(client: TestClient) -> None:
    url = _job(client)["outputs"][0]["url"]
    r = client.get(_with(url, signature="é" * 64))
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert client.get(_with(url, expires="1" + "0" * 30)).status_code == 422  # beyond 64 bits
