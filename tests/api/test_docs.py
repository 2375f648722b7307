"""/docs and /redoc are served with their assets by pixmill itself (the browser test renders them)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_doc_pages_load_nothing_from_elsewhere(client: TestClient) -> None:
    for page, assets in (
        ("/docs", ["/docs/assets/swagger-ui.css", "/docs/assets/swagger-ui-bundle.js", "/docs/assets/favicon.png"]),
        ("/redoc", ["/docs/assets/redoc.standalone.js", "/docs/assets/favicon.png"]),
    ):
        r = client.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in r.headers["content-security-policy"]
        linked = re.findall(r'(?:src|href)="([^"]+)"', r.text)
        assert sorted(linked) == sorted(assets), linked
        assert "fonts.googleapis" not in r.text and "cdn." not in r.text
        for asset in assets:
            got = client.get(asset)
            assert got.status_code == 200 and len(got.content) > 1000, asset
    assert client.get("/docs/oauth2-redirect").status_code == 200
    assert client.get("/docs/assets/nothing.js").status_code == 404
