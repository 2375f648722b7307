"""PixTools' web page against a live pixmill, in Debian's Chromium: requests, result cards, metadata, downloads;
and the API docs, whose every request stays on 127.0.0.1."""

from __future__ import annotations

import json
import time
import zipfile
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, FilePayload, Page, Request, Route, expect, sync_playwright

from tests import images
from tests.api import pixtools_client
from tests.conftest import SHARED_MODELS
from tests.live import LiveServer
from tests.webhook_sink import WebhookSink

pytestmark = [pytest.mark.live, pytest.mark.browser]
expect.set_options(timeout=20_000)

CHROMIUM = "/usr/bin/chromium"  # Debian's package: `apt-get install chromium`
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGE = (Path(__file__).parent / "pixtools_page.html").read_text()
PAGE_PATH = "/pixtools-stand-in/"  # answered by the browser from PAGE, so the page has pixmill's origin


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("browser")
    live = LiveServer(
        tmp / "data",
        tmp / "server.log",
        PIXMILL_MODELS_DIR=str(SHARED_MODELS),
        PIXMILL_WEBHOOK_ALLOW_PRIVATE="true",
        PIXMILL_WEBHOOK_ATTEMPTS="1",
    ).start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (Debian's package)"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Session:
    """A browser context on the live server that records every request it makes."""

    def __init__(self, browser: Browser, server: LiveServer) -> None:
        self.server = server
        self.context: BrowserContext = browser.new_context(accept_downloads=True)
        self.requests: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        # Whatever the browser would fetch from anywhere but the live server is recorded and never sent.
        self.outside: list[str] = []
        self.context.route(lambda url: not url.startswith(f"{server.url}/"), self._refuse)
        self.context.route(f"{server.url}{PAGE_PATH}", lambda route: route.fulfill(body=PAGE, content_type="text/html"))
        self.blocked: list[tuple[str, str | None]] = []
        self.context.on("requestfailed", lambda r: self.blocked.append((r.url, r.failure)))
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _refuse(self, route: Route) -> None:
        self.outside.append(route.request.url)
        route.abort()

    def left_the_machine(self) -> list[str]:
        """Requests that went, or would have gone, to the network beyond the live server."""
        return self.outside


@pytest.fixture
def session(browser: Browser, server: LiveServer) -> Iterator[Session]:
    s = Session(browser, server)
    try:
        yield s
    finally:
        s.context.close()


def form_fields(request: Request) -> dict[str, Any]:
    """The multipart form a request sent: field → text, or (file name, content type) for a file."""
    body = request.post_data_buffer
    assert body is not None
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        filename = part.get_filename()
        if filename:
            fields[name] = (filename, part.get_content_type())
        else:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            fields[name] = payload.decode()
    return fields


def choose(page: Page, name: str, data: bytes, mime: str, ticked: set[str], **typed: str) -> None:
    page.set_input_files("#file-input", files=[FilePayload(name=name, mimeType=mime, buffer=data)])
    for op in ticked:  # a box the page disabled (the upload's own format) stays unticked, as for a user
        box = page.locator(f'input[name="operation"][value="{op}"]')
        if box.is_enabled():
            box.check()
    if "quality" in typed:  # the slider, moved as a user moves it
        page.eval_on_selector(
            "#quality-range",
            "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }",
            typed["quality"],
        )
    for field, selector in (("width", "#resize-width"), ("height", "#resize-height"), ("webhook_url", "#webhook-url")):
        if field in typed:
            page.fill(selector, typed[field])


def test_the_pixtools_page_shows_cards_metadata_and_downloads_as_pixtools_names_them(
    session: Session, tmp_path: Path
) -> None:
    page = session.page
    page.goto(f"{session.server.url}{PAGE_PATH}")
    typed = {"quality": "60", "width": "320", "height": "200"}
    ticked = {"jpg", "png", "webp", "avif", "denoise", "metadata"}
    with WebhookSink() as sink:
        choose(page, "DSCF0042.jpg", images.camera_jpeg(), "image/jpeg", ticked, webhook_url=sink.url, **typed)
        expect(page.locator('input[value="jpg"]')).to_be_disabled()  # the upload's own format
        with page.expect_request(f"{session.server.url}/api/process") as sent:
            page.click("#btn-process")
        expect(page.locator("body")).to_have_attribute("data-done", "yes", timeout=120_000)  # denoise on a CPU
        deadline = time.monotonic() + 10
        while not sink.received and time.monotonic() < deadline:
            time.sleep(0.05)
        delivered = sink.payloads()

    # The request is the one PixTools' page builds (the Python mirror of it is what tests/api replays).
    fields = form_fields(sent.value)
    expected = pixtools_client.form(ticked - {"jpg"}, webhook_url=sink.url, **typed)
    assert fields.pop("file") == ("DSCF0042.jpg", "image/jpeg")
    assert {k: json.loads(v) if k != "webhook_url" else v for k, v in fields.items()} == {
        k: json.loads(v) if k != "webhook_url" else v for k, v in expected.items()
    }
    assert json.loads(fields["operation_params"]) == {
        "png": {"resize": {"width": 320, "height": 200}},
        "webp": {"quality": 60, "resize": {"width": 320, "height": 200}},
        "avif": {"resize": {"width": 320, "height": 200}},
        "denoise": {"resize": {"width": 320, "height": 200}},
    }
    assert sent.value.headers.get("idempotency-key")

    # Result cards: one per image result, none for metadata; every image decodes in the browser at its size.
    expect(page.locator("#ops-error")).to_be_hidden()
    cards = page.locator(".result-card")
    expect(cards).to_have_count(4)
    assert cards.locator(".op-name").all_text_contents() == ["PNG", "WEBP", "AVIF", "DENOISE"]
    for img in cards.locator(".result-img").all():
        expect(img).to_have_js_property("complete", True)
        assert img.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [320, 200]
    expect(page.locator("#webhook-warning")).to_be_hidden()

    # The metadata panel, as the page renders `metadata`.
    expect(page.locator("#metadata-panel")).to_be_visible()
    rows = dict(
        zip(
            page.locator(".metadata-key").all_text_contents(),
            page.locator(".metadata-value").all_text_contents(),
            strict=True,
        )
    )
    assert rows == {
        "CAMERA MAKE": "Fujifilm",
        "CAMERA MODEL": "X-T5",
        "LENS MODEL": "XF23mmF1.4 R LM WR",
        "CAPTURED AT": "2026:05:04 10:11:12",
        "EXPOSURE TIME": "1/250s",
        "APERTURE": "f/2.8",
        "ISO": "400",
        "GPS": '{"latitude":52.51,"longitude":-1.25}',
    }

    # Downloads: the server's names win over the page's, as with PixTools' own links.
    saved = {}
    for op in ("png", "webp", "avif", "denoise"):
        with page.expect_download() as download:
            page.click(f".op-{op} .btn-download")
        saved[op] = download.value.suggested_filename
        if op == "png":
            path = tmp_path / saved[op]
            download.value.save_as(path)
            assert Image.open(path).size == (320, 200)
    assert saved == {
        "png": "pixtools_png_DSCF0042.png",
        "webp": "pixtools_webp_DSCF0042.webp",
        "avif": "pixtools_avif_DSCF0042.avif",
        "denoise": "pixtools_denoise_DSCF0042.png",
    }
    expect(page.locator("#btn-download-all")).to_be_visible()
    with page.expect_download() as bundle:
        page.click("#btn-download-all")
    assert bundle.value.suggested_filename == "pixtools_bundle_DSCF0042.zip"
    bundle.value.save_as(tmp_path / "bundle.zip")
    assert sorted(zipfile.ZipFile(tmp_path / "bundle.zip").namelist()) == [
        "pixtools_avif_DSCF0042.avif",
        "pixtools_denoise_DSCF0042.png",
        "pixtools_png_DSCF0042.png",
        "pixtools_webp_DSCF0042.webp",
    ]

    (payload,) = delivered
    assert payload["status"] == "COMPLETED" and set(payload["result_urls"]) == {"png", "webp", "avif", "denoise"}
    assert page.locator("#job-id-display").text_content() == f"Job: {payload['job_id'].split('-')[0]}..."
    assert session.errors == [] and session.left_the_machine() == []


def test_the_pixtools_page_shows_a_refusal_as_its_sentence(session: Session) -> None:
    page = session.page
    page.goto(f"{session.server.url}{PAGE_PATH}")
    choose(page, "logo.png", images.png(64, 48), "image/png", {"webp"}, width="-5")
    page.click("#btn-process")
    expect(page.locator("#ops-error")).to_have_text("operation_params['webp'].resize.width must be > 0")
    page.fill("#resize-width", "")
    page.set_input_files(
        "#file-input", files=[FilePayload(name="notes.png", mimeType="image/png", buffer=b"not a png")]
    )
    page.check('input[value="webp"]')
    page.click("#btn-process")
    expect(page.locator("#ops-error")).to_contain_text("Unsupported file type: notes.png")
    assert session.left_the_machine() == []


def test_api_docs_render_offline_with_every_operation(session: Session) -> None:
    page = session.page
    page.goto(f"{session.server.url}/docs")
    blocks = page.locator(".opblock-summary-path")
    expect(blocks.first).to_be_visible()
    paths = set(blocks.all_text_contents())
    assert {"/api/process", "/api/jobs/{job_id}", "/api/v1/jobs", "/api/v1/operations"} <= {
        p.replace("\u200b", "") for p in paths
    }
    assert page.locator(".opblock").count() >= 20
    page.goto(f"{session.server.url}/redoc")
    expect(page.get_by_role("heading", name="Upload one image and process it (PixTools shape)")).to_be_visible()
    expect(page.get_by_role("heading", name="Job status and results (PixTools shape)")).to_be_visible()
    assert session.errors == []
    assert session.left_the_machine() == [], session.left_the_machine()
    # ReDoc's bundle asks cdn.redoc.ly for its logo: the page's Content-Security-Policy stops that in the browser.
    elsewhere = {u for u in session.requests if not u.startswith(f"{session.server.url}/")}
    assert elsewhere == {u for u, failure in session.blocked if failure == "csp"}, (elsewhere, session.blocked)
    assert any(u.endswith("/docs/assets/swagger-ui-bundle.js") for u in session.requests)
    assert any(u.endswith("/docs/assets/redoc.standalone.js") for u in session.requests)
