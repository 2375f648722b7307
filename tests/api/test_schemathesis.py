"""Schemathesis over every operation of the OpenAPI document, against a live server: no 5xx, and every status,
content type and body as the document says. Once without credentials, once with a staff account's API key; half
the examples have their path ids replaced by real ones (an asset, a job, a palette, an order)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from pixmill.app import create_app
from pixmill.config import Settings
from pixmill.render.service import sign_path
from pixmill.storefront.event_signatures import SIGNATURE_HEADER, sign
from tests import images
from tests.conftest import SHARED
from tests.live import LiveServer
from tests.principals import live_account

pytestmark = pytest.mark.live

LIVE_SECRET = b"live-secret"  # tests/live.py's PIXMILL_SECRET_KEY
SHOP_SECRET = "schemathesis-shop"
# Examples per operation and run: 27 operations x 2 runs x 50 take about a minute on 2 CPUs. Set
# PIXMILL_SCHEMATHESIS_EXAMPLES for a deeper run (200 took 2.5 minutes, with no failure).
EXAMPLES = int(os.environ.get("PIXMILL_SCHEMATHESIS_EXAMPLES", "50"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


class Service:
    def __init__(
        self, server: LiveServer, staff: dict[str, str], ids: dict[str, str], download: dict[str, Any]
    ) -> None:
        self.server, self.staff, self.ids, self.download = server, staff, ids, download


def _finished(c: httpx.Client, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while (job := c.get(f"/api/v1/jobs/{job_id}").json())["status"] in ("PENDING", "PROCESSING"):
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    return dict(job)


def _seed(url: str, staff: dict[str, str]) -> tuple[dict[str, str], dict[str, Any]]:
    """Real ids (an uploaded asset, a finished job, a palette, a paid order, a signed render path), and the parts of
    a signed download link."""
    with httpx.Client(base_url=url, timeout=60) as c:
        asset = c.post("/api/v1/uploads", files={"files": ("p.jpg", images.jpeg(64, 48))}).json()["assets"][0]["id"]
        pipeline = [{"op": "resize", "params": {"width": 16}}, {"op": "convert", "params": {"format": "png"}}]
        job = c.post("/api/v1/jobs", json={"inputs": [asset], "pipeline": pipeline}).json()["id"]
        link = urlsplit(_finished(c, job)["outputs"][0]["url"])
        download = {"key": unquote(link.path.removeprefix("/files/")), "query": dict(parse_qsl(link.query))}
        csv = (SHARED / "data" / "palettes" / "dmc.csv").read_bytes()
        r = c.post("/api/v1/palettes", data={"name": "dmc"}, files={"file": ("dmc.csv", csv)}, headers=staff)
        assert r.status_code == 201, r.text
        line = {"photo": asset, "palette": "dmc", "canvas": {"cols": 12, "rows": 10, "max_colors": 6}}
        order = {"id": "st1", "type": "order.paid", "created_at": "2026-12-07T12:00:00Z"}
        raw = json.dumps({**order, "order": {"id": "o1", "line_items": [line]}}).encode()
        r = c.post(
            "/api/v1/storefront/events", content=raw, headers={SIGNATURE_HEADER: sign(SHOP_SECRET.encode(), raw)}
        )
        assert r.status_code == 200, r.text
        render = f"resize:width=8/png/{asset}"
        signature = sign_path(LIVE_SECRET, render, None)  # an anonymous asset
        ids = {
            "asset_id": asset,
            "job_id": job,
            "name": "dmc",
            "order_id": "o1",
            "signature": signature,
            "path": render,
        }
        return ids, download


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    server = LiveServer(tmp / "data", tmp / "server.log", PIXMILL_STOREFRONT_SECRET=SHOP_SECRET).start()
    try:
        staff = live_account(tmp / "data", "staff@example.org", roles=("staff",)).headers  # every staff scope
        yield Service(server, staff, *_seed(server.url, staff))
    finally:
        server.stop()
    assert "unhandled error" not in Path(tmp / "server.log").read_text()


# The document the server serves, built from the same code without starting one (schemathesis' from_fixture reads
# `_nodeid`, which pytest 9.2 no longer has).
schema = schemathesis.openapi.from_dict(create_app(Settings(data_dir=Path("unused"), secret_key="x")).openapi())
_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI is not flaky, and a failure replays
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


def _exercise(service: Service, case: Any, real_ids: bool, headers: dict[str, str] | None) -> None:
    if real_ids:
        for name, value in service.ids.items():
            if case.path_parameters and name in case.path_parameters:
                case.path_parameters[name] = value
        if case.path_parameters and "key" in case.path_parameters:  # GET /files/{key}: a whole signed link
            case.path_parameters["key"] = service.download["key"]
            case.query = dict(service.download["query"])
    case.call_and_validate(base_url=service.server.url, headers=headers, checks=CHECKS, timeout=60)


@schema.parametrize()
@schema.given(real_ids=st.booleans())
@_SETTINGS
def test_every_operation_without_credentials(case: Any, real_ids: bool, service: Service) -> None:
    _exercise(service, case, real_ids, None)


@schema.parametrize()
@schema.given(real_ids=st.booleans())
@_SETTINGS
def test_every_operation_with_a_staff_key(case: Any, real_ids: bool, service: Service) -> None:
    _exercise(service, case, real_ids, service.staff)
