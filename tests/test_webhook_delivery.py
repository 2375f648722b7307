"""Webhook delivery against a real sink on 127.0.0.1: the circuit per host (in memory, and shared through a real
Redis), the connection pinned to the checked address, and deliveries that always end."""

from __future__ import annotations

import logging
import socket
import ssl
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from pixmill.app import create_app
from pixmill.config import Settings
from pixmill.webhooks.service import Delivery, PinnedTransport, WebhookCircuits, deliver
from tests import images
from tests.conftest import REDIS_URL, make_settings, submit, upload, wait_for
from tests.principals import job_total
from tests.webhook_sink import WebhookSink

PAYLOAD = {"job_id": "j", "status": "COMPLETED"}


def _deliver(url: str, circuits: WebhookCircuits, attempts: int = 2, allow_private: bool = True) -> Delivery:
    return deliver(
        url,
        PAYLOAD,
        secret=b"k",
        attempts=attempts,
        backoff_s=0.01,
        timeout_s=2.0,
        allow_private=allow_private,
        circuits=circuits,
    )


def _closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_request_connects_to_the_checked_address_keeping_the_host_header() -> None:
    with WebhookSink() as sink:
        port = sink.server.server_address[1]
        # .invalid never resolves: the request can only arrive if no second lookup is made
        transport = PinnedTransport("hook.invalid", ["127.0.0.1"])
        with httpx.Client(transport=transport, trust_env=False) as client:
            assert client.post(f"http://hook.invalid:{port}/hook", content=b"{}").status_code == 200
            with pytest.raises(httpx.ConnectError):  # another host is not pinned: refused, not looked up
                client.post(f"http://other.invalid:{port}/hook", content=b"{}")
    assert [headers["Host"] for headers, _ in sink.received] == [f"hook.invalid:{port}"]


def test_a_private_target_is_refused_at_delivery_without_a_request() -> None:
    with WebhookSink() as sink:
        outcome = _deliver(sink.url, WebhookCircuits(5, 60), allow_private=False)
    assert not outcome.delivered and "loopback" in (outcome.reason or "")
    assert sink.received == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:80\t@93.184.216.34/", "http://[::1/", "ftp://127.0.0.1/"])
def test_a_url_httpx_rejects_ends_the_delivery_as_failed_with_a_log_line(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="pixmill.webhooks"):
        outcome = _deliver(url, WebhookCircuits(5, 60))
    assert not outcome.delivered and outcome.reason
    assert any("webhook" in r.getMessage() for r in caplog.records)


def test_the_circuit_opens_after_failures_in_a_row_and_skips_the_host_until_reset(
    caplog: pytest.LogCaptureFixture,
) -> None:
    circuits = WebhookCircuits(fail_max=3, reset_s=0.5)
    with caplog.at_level(logging.INFO, logger="pixmill.webhooks"), WebhookSink(status=500) as sink:
        first = _deliver(sink.url, circuits)  # 2 failed attempts
        second = _deliver(sink.url, circuits)  # its first attempt is the 3rd failure: the circuit opens
        assert len(sink.received) == 3
        third = _deliver(sink.url, circuits)  # not attempted
        assert len(sink.received) == 3
        assert not first.delivered and "HTTP 500" in (first.reason or "")
        for outcome in (second, third):
            assert not outcome.delivered and "circuit for host '127.0.0.1' is open" in (outcome.reason or "")

        time.sleep(0.6)
        sink.status = 200
        assert _deliver(sink.url, circuits).delivered  # one trial attempt, which closes it
        assert len(sink.received) == 4
        assert circuits.for_host("127.0.0.1").current_state == "closed"
    transitions = [r.getMessage() for r in caplog.records if r.getMessage().startswith("webhook circuit")]
    assert transitions == ["webhook circuit open", "webhook circuit half-open", "webhook circuit closed"]


def test_deliveries_to_one_host_are_not_serialised_by_its_circuit() -> None:
    circuits = WebhookCircuits(fail_max=5, reset_s=60)
    with WebhookSink(delay_s=1.0) as sink, ThreadPoolExecutor(4) as pool:
        started = time.monotonic()
        outcomes = list(pool.map(lambda _: _deliver(sink.url, circuits), range(4)))
        elapsed = time.monotonic() - started
    assert all(o.delivered for o in outcomes) and len(sink.received) == 4
    assert elapsed < 2.5  # in parallel: about 1 s, where one at a time would take 4 s


def test_answers_other_than_5xx_do_not_open_the_circuit() -> None:
    circuits = WebhookCircuits(fail_max=2, reset_s=60)
    with WebhookSink(status=404) as sink:
        for _ in range(3):
            assert not _deliver(sink.url, circuits).delivered
        assert len(sink.received) == 6
    assert circuits.for_host("127.0.0.1").current_state == "closed"


@pytest.mark.redis
def test_the_circuit_state_is_shared_through_redis(redis_prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        one = WebhookCircuits(fail_max=2, reset_s=60, redis=client, prefix=redis_prefix)
        other = WebhookCircuits(fail_max=2, reset_s=60, redis=client, prefix=redis_prefix)  # another process
        dead = f"http://127.0.0.1:{_closed_port()}/hook"
        outcome = _deliver(dead, one)
        assert not outcome.delivered and "is open" in (outcome.reason or "")
        with WebhookSink() as sink:  # the host is back, but the shared circuit is open: not attempted
            skipped = _deliver(sink.url, other)
            assert sink.received == []
        assert not skipped.delivered and "is open" in (skipped.reason or "")
        assert other.for_host("127.0.0.1").current_state == "open"
        assert client.get(f"{redis_prefix}webhook-circuit:127.0.0.1:pybreaker:state") == b"open"
    finally:
        client.close()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def circuit_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings whose circuits live in the API process, or in Redis under this test's own prefix."""
    redis = {"redis_url": REDIS_URL, "redis_prefix": request.getfixturevalue("redis_prefix")}
    return make_settings(
        tmp_path, webhook_attempts=3, webhook_circuit_failures=4, **(redis if request.param == "redis" else {})
    )


def test_jobs_to_a_dead_endpoint_trip_the_circuit_and_end_with_the_reason(circuit_settings: Settings) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}/hook"
    with TestClient(create_app(circuit_settings)) as client:
        (asset,) = upload(client, ("a.png", images.png(20, 20)), content_type="image/png")
        done = []
        for _ in range(3):  # one after another: 3 attempts, then 1 that opens it, then none
            job = submit(client, [asset["id"]], [{"op": "resize", "params": {"width": 10}}], webhook_url=dead)
            done.append(wait_for(client, job["id"]))
    assert [(d["status"], d["webhook"]["status"]) for d in done] == [("COMPLETED_WEBHOOK_FAILED", "failed")] * 3
    assert "ConnectError" in done[0]["error"]
    for d in done[1:]:
        assert "circuit for host '127.0.0.1' is open" in d["error"]


def test_a_url_httpx_rejects_is_refused_at_submission(client: TestClient) -> None:
    (asset,) = upload(client, ("a.png", images.png(20, 20)), content_type="image/png")
    r = client.post(
        "/api/v1/jobs",
        json={
            "inputs": [asset["id"]],
            "pipeline": [{"op": "resize", "params": {"width": 10}}],
            "webhook_url": "http://127.0.0.1:80\t@93.184.216.34/",
        },
    )
    assert r.status_code == 422 and "control characters" in r.text
    assert job_total(client) == 0


def test_with_redis_down_deliveries_go_on_unguarded(caplog: pytest.LogCaptureFixture) -> None:
    import redis

    down = redis.Redis.from_url(f"redis://127.0.0.1:{_closed_port()}/0", socket_connect_timeout=1)
    with caplog.at_level(logging.WARNING, logger="pixmill.webhooks"), WebhookSink() as sink:
        assert _deliver(sink.url, WebhookCircuits(2, 60, redis=down, prefix="x:")).delivered
        assert len(sink.received) == 1
    assert any("Redis unavailable" in r.getMessage() for r in caplog.records)


def test_over_tls_the_pinned_connection_sends_and_verifies_the_urls_host(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=hook.invalid"]
    subject = ["-addext", "subjectAltName=DNS:hook.invalid", "-keyout", str(key), "-out", str(cert)]
    subprocess.run([*request, *subject], check=True, capture_output=True)
    server_names: list[str | None] = []
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    server_tls.sni_callback = lambda sock, name, ctx: server_names.append(name)
    trust = ssl.create_default_context(cafile=str(cert))
    with WebhookSink() as sink:
        sink.server.socket = server_tls.wrap_socket(sink.server.socket, server_side=True)
        port = sink.server.server_address[1]
        with httpx.Client(
            transport=PinnedTransport("hook.invalid", ["127.0.0.1"], verify=trust), trust_env=False
        ) as client:
            assert client.post(f"https://hook.invalid:{port}/hook", content=b"{}").status_code == 200
        # the certificate is for hook.invalid: pinned to the same address under another name, it is refused
        other = PinnedTransport("other.invalid", ["127.0.0.1"], verify=trust)
        with (
            httpx.Client(transport=other, trust_env=False) as client,
            pytest.raises(httpx.ConnectError, match="certificate"),
        ):
            client.post(f"https://other.invalid:{port}/hook", content=b"{}")
    assert server_names[0] == "hook.invalid" and len(sink.received) == 1
