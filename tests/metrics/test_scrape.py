"""GET /metrics of a live `pixmill serve`: counters move for requests, a job and renders, and the samples the pool
worker processes record (multiprocess mode) are in the API's answer; who may scrape it."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from pixmill.app import create_app
from tests import images
from tests.conftest import make_settings
from tests.live import LiveServer
from tests.metrics.scraped import value

pytestmark = pytest.mark.live


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path / "data", tmp_path / "server.log", PIXMILL_RENDER_ALLOW_UNSIGNED="true")
    live.start()
    try:
        yield live
    finally:
        live.stop()


def scrape(url: str) -> str:
    r = httpx.get(f"{url}/metrics", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return r.text


def test_a_scrape_counts_requests_jobs_and_renders_from_every_process(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        r = client.post("/api/v1/uploads", files=[("files", ("a.jpg", images.jpeg(64, 48), "image/jpeg"))])
        assert r.status_code == 201, r.text
        asset = r.json()["assets"][0]["id"]
        before = scrape(server.url)
        assert value(before, "pixmill_jobs_total") is None  # nothing finished yet

        pipeline = [{"op": "resize", "params": {"width": 16}}, {"op": "convert", "params": {"format": "png"}}]
        r = client.post("/api/v1/jobs", json={"inputs": [asset], "pipeline": pipeline})
        assert r.status_code == 202, r.text
        job = r.json()["id"]
        deadline = time.monotonic() + 60
        while (status := client.get(f"/api/v1/jobs/{job}").json()["status"]) in ("PENDING", "PROCESSING"):
            assert time.monotonic() < deadline, "the job did not finish"
            time.sleep(0.1)
        assert status == "COMPLETED"
        render = f"/render/unsafe/resize:width=8/png/{asset}"
        assert [client.get(render).headers["x-cache"] for _ in range(2)] == ["miss", "hit"]
        assert client.get(f"/no/such/{job}").status_code == 404

    text = scrape(server.url)
    # the API process: requests by route template (never the raw path), method and status
    assert value(text, "pixmill_http_request_duration_seconds_count", method="POST", route="/api/v1/jobs") == 1
    polls = value(text, "pixmill_http_request_duration_seconds_count", route="/api/v1/jobs/{job_id}", status="200")
    assert polls is not None and polls >= 1
    assert not re.search(r'route="[^"]*' + job, text)
    assert value(text, "pixmill_http_request_duration_seconds_count", route="unmatched", status="404") == 1
    assert value(text, "pixmill_render_cache_total", result="miss") == 1
    assert value(text, "pixmill_render_cache_total", result="hit") == 1
    # the pool worker processes: the job ran there, and so did the render that missed the cache
    assert value(text, "pixmill_jobs_total", status="COMPLETED", operation="resize") == 1
    assert value(text, "pixmill_job_processing_seconds_count", status="COMPLETED", operation="resize") == 1
    assert value(text, "pixmill_job_queue_wait_seconds_count", operation="resize") == 1
    assert value(text, "pixmill_job_end_to_end_seconds_count", status="COMPLETED", operation="resize") == 1
    assert value(text, "pixmill_job_attempts_total", kind="first") == 1
    assert value(text, "pixmill_render_seconds_count", queue="standard") == 1
    # they wrote their own files in the metrics directory, which the API's scrape summed
    assert server.proc is not None
    pids = {
        int(m.group(1)) for p in (server.data_dir / "metrics").glob("*.db") if (m := re.search(r"_(\d+)\.db$", p.name))
    }
    assert server.proc.pid in pids and len(pids) >= 2, pids
    # read at scrape time: the API process's pools
    processes = value(text, "pixmill_pool_processes", pool="standard")
    assert processes is not None and processes >= 1
    assert value(text, "pixmill_pool_backlog", pool="standard") == 0
    assert value(text, "pixmill_scrape_errors", reading="pools") == 0
    # counters only grow: a scrape counts the scrapes before it (its own is timed once it is answered)
    again = scrape(server.url)
    assert value(again, "pixmill_http_request_duration_seconds_count", route="/metrics", status="200") == 2


def test_a_scraper_forwarded_by_a_proxy_on_the_host_is_not_a_local_one(server: LiveServer) -> None:
    r = httpx.get(f"{server.url}/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert r.status_code == 401
    assert "PIXMILL_METRICS_TOKEN" in r.json()["detail"]


def test_with_a_token_only_the_token_opens_metrics(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path, metrics_token="scrape-me"))) as client:
        assert client.get("/metrics").status_code == 401  # no token (and TestClient is no loopback client anyway)
        r = client.get("/metrics", headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401 and "PIXMILL_METRICS_TOKEN" in r.json()["detail"]
        r = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert r.status_code == 200, r.text
        assert value(r.text, "pixmill_scrape_errors", reading="pools") == 0


def test_a_broker_that_never_answers_costs_a_scrape_about_a_second(tmp_path: Path) -> None:
    with socket.socket() as s:  # connections are taken (by the kernel) and never answered
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        port = s.getsockname()[1]
        _scrape_with_a_silent_broker(tmp_path, port)


def _scrape_with_a_silent_broker(tmp_path: Path, port: int) -> None:
    settings = make_settings(
        tmp_path, runner="celery", broker_url=f"amqp://guest:guest@127.0.0.1:{port}//", metrics_token="t"
    )
    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        r = client.get("/metrics", headers={"Authorization": "Bearer t"})
        assert r.status_code == 200 and 0.9 < time.monotonic() - started < 2.5
        assert value(r.text, "pixmill_scrape_errors", reading="broker") == 1
        assert value(r.text, "pixmill_queue_messages") is None
        assert value(r.text, "pixmill_pool_busy", pool="standard") == 0  # the other readings still answer
