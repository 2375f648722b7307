"""Signed order events: forged ones store nothing; duplicates and reordering converge; one render per version."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pixmill.db.models import Order, OrderEvent, OrderRender
from pixmill.storefront.event_signatures import SIGNATURE_HEADER, sign
from tests.principals import account
from tests.storefront.conftest import SECRET, STAFF, event, photo, send, wait_state


def _count(client: TestClient, model: type) -> int:
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    with ctx.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_forged_missing_or_stale_signatures_are_401_and_store_nothing(shop: TestClient) -> None:
    body = event("e1", "order.paid", "o1", photo(shop))
    assert send(shop, body, secret="wrong").status_code == 401
    assert send(shop, body, timestamp=int(time.time()) - 3600).status_code == 401
    r = shop.post("/api/v1/storefront/events", json=body)
    assert r.status_code == 401 and "missing" in r.json()["detail"]
    assert (_count(shop, OrderEvent), _count(shop, Order), _count(shop, OrderRender)) == (0, 0, 0)


def test_paid_order_is_rendered_once_and_ready_for_review(shop: TestClient) -> None:
    pid = photo(shop)
    assert send(shop, event("e1", "order.created", "o1", pid)).json()["state"] == "received"
    r = send(shop, event("e2", "order.paid", "o1", pid))
    assert r.status_code == 200 and r.json()["state"] == "rendering"
    order = wait_state(shop, "o1", ("ready_for_review",))
    (render,) = order["renders"]
    assert render["status"] == "COMPLETED" and render["version"] == 1 and render["palette_version"] == 1
    assert shop.get(render["guide_url"]).content.startswith(b"%PDF")
    assert shop.get(render["preview_url"]).headers["content-type"] == "image/png"
    plan = shop.get(render["plan_url"]).json()
    assert (plan["cols"], plan["rows"]) == (24, 30)
    assert sum(e["count"] for e in plan["legend"]) == 24 * 30
    assert render["quality"]["colors_used"] <= 10


def test_duplicate_and_concurrent_events_give_one_render(shop: TestClient) -> None:
    pid = photo(shop)
    paid = event("pay-1", "order.paid", "o2", pid)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: send(shop, paid), range(8)))
    assert all(r.status_code == 200 for r in results)
    assert sum(not r.json()["duplicate"] for r in results) == 1
    send(shop, event("pay-2", "order.paid", "o2", pid))  # the shop retried with a new event id
    wait_state(shop, "o2", ("ready_for_review",))
    assert _count(shop, OrderRender) == 1
    assert _count(shop, OrderEvent) == 2


def test_paid_before_created_and_late_created_do_not_regress(shop: TestClient) -> None:
    pid = photo(shop)
    assert send(shop, event("e2", "order.paid", "o3", pid)).json()["state"] == "rendering"
    wait_state(shop, "o3", ("ready_for_review",))
    assert send(shop, event("e1", "order.created", "o3", pid)).json()["state"] == "ready_for_review"


def test_cancel_wins_over_a_late_payment_and_over_a_render_in_flight(shop: TestClient) -> None:
    pid = photo(shop)
    send(shop, event("c1", "order.paid", "o4", pid))
    assert send(shop, event("c2", "order.cancelled", "o4", pid)).json()["state"] == "cancelled"
    time.sleep(1.0)
    order = wait_state(shop, "o4", ("cancelled",))
    assert order["state"] == "cancelled"
    assert send(shop, event("c3", "order.paid", "o4", pid)).json()["state"] == "cancelled"
    assert send(shop, event("c4", "order.refunded", "o4", pid)).json()["state"] == "refunded"
    send(shop, event("c5", "order.created", "o5", pid))
    assert send(shop, event("c6", "order.refunded", "o5", pid)).json()["state"] == "refunded"
    assert _count(shop, OrderRender) == 1


def test_staff_review_rerender_approve_fulfil(shop: TestClient) -> None:
    pid = photo(shop)
    send(shop, event("s1", "order.paid", "o6", pid))
    wait_state(shop, "o6", ("ready_for_review",))
    r = shop.post("/api/v1/storefront/orders/o6/reject", json={"reason": "face cut off"}, headers=STAFF)
    assert r.status_code == 200 and r.json()["review_note"] == "rejected: face cut off"
    r = shop.post(
        "/api/v1/storefront/orders/o6/rerender",
        json={"canvas": {"cols": 20, "rows": 20, "max_colors": 8}},
        headers=STAFF,
    )
    assert r.status_code == 200 and r.json()["version"] == 2
    order = wait_state(shop, "o6", ("ready_for_review",))
    latest = [x for x in order["renders"] if x["version"] == 2]
    assert len(latest) == 1 and latest[0]["status"] == "COMPLETED"
    assert shop.get(latest[0]["plan_url"]).json()["cols"] == 20
    assert shop.post("/api/v1/storefront/orders/o6/fulfil", headers=STAFF).status_code == 409
    assert shop.post("/api/v1/storefront/orders/o6/approve", headers=STAFF).json()["state"] == "approved"
    assert shop.post("/api/v1/storefront/orders/o6/fulfil", headers=STAFF).json()["state"] == "fulfilled"
    assert send(shop, event("s9", "order.refunded", "o6", pid)).json()["state"] == "fulfilled"
    assert _count(shop, OrderRender) == 2
    listed = shop.get("/api/v1/storefront/orders", headers=STAFF).json()
    assert [o["id"] for o in listed] == ["o6"] and listed[0]["renders"][0]["version"] == 2


def test_staff_routes_need_the_orders_scope(shop: TestClient) -> None:
    assert shop.get("/api/v1/storefront/orders").status_code == 401
    assert shop.get("/api/v1/storefront/orders", headers={"X-API-Key": "nope"}).status_code == 401
    plain = account(shop, "plain@example.org")
    r = shop.get("/api/v1/storefront/orders", headers=plain.headers)
    assert r.status_code == 403 and "'orders' scope" in r.json()["detail"]
    palettes_only = account(shop, "pal@example.org", roles=("staff",), scopes=("palettes",))
    assert shop.get("/api/v1/storefront/orders", headers=palettes_only.headers).status_code == 403
    assert shop.get("/api/v1/storefront/orders", headers=STAFF).status_code == 200
    assert shop.get("/api/v1/storefront/orders/none", headers=STAFF).status_code == 404


def test_malformed_event_is_422_and_stores_nothing(shop: TestClient) -> None:
    r = send(shop, {"id": "x", "type": "order.exploded", "created_at": "2026-01-01T00:00:00Z", "order": {"id": "o"}})
    assert r.status_code == 422
    assert _count(shop, OrderEvent) == 0


def test_an_order_whose_line_item_failed_to_render_cannot_be_approved(shop: TestClient) -> None:
    pid = photo(shop)
    body = event("f1", "order.paid", "o9", pid)
    body["order"]["line_items"].append({**body["order"]["line_items"][0], "photo": "gone-photo"})
    send(shop, body)
    order = wait_state(shop, "o9", ("ready_for_review",))
    assert [r["status"] for r in order["renders"]] == ["COMPLETED", "FAILED"]
    r = shop.post("/api/v1/storefront/orders/o9/approve", headers=STAFF)
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json") or "json" in r.headers["content-type"]
    detail = r.json()["detail"]
    assert "line item 1" in detail and "'gone-photo' is no longer stored" in detail
    assert shop.get("/api/v1/storefront/orders/o9", headers=STAFF).json()["state"] == "ready_for_review"
    # Rejecting stays possible; a rerender that fails again is still not approvable.
    assert shop.post("/api/v1/storefront/orders/o9/reject", json={"reason": "photo"}, headers=STAFF).status_code == 200
    shop.post("/api/v1/storefront/orders/o9/rerender", json={}, headers=STAFF)
    wait_state(shop, "o9", ("ready_for_review",))
    assert shop.post("/api/v1/storefront/orders/o9/approve", headers=STAFF).status_code == 409


def test_the_guide_of_a_line_item_in_colour_or_black_and_white(shop: TestClient) -> None:
    pid = photo(shop)
    body = event("g1", "order.paid", "o10", pid)
    body["order"]["line_items"].append({**body["order"]["line_items"][0], "photo": "gone-photo"})
    send(shop, body)
    order = wait_state(shop, "o10", ("ready_for_review",))
    stored = shop.get(order["renders"][0]["guide_url"]).content
    url = "/api/v1/storefront/orders/o10/guide"
    assert shop.get(url).status_code == 401
    r = shop.get(url, headers=STAFF)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content == stored  # the same guide as the render's
    bw = shop.get(url, params={"colour": "false"}, headers=STAFF)
    assert bw.status_code == 200 and bw.content.startswith(b"%PDF-") and bw.content != stored
    assert 'filename="o10-v1-0-bw.pdf"' in bw.headers["content-disposition"]
    assert shop.get(url, params={"colour": "false", "paper": "A3"}, headers=STAFF).status_code == 200
    r = shop.get(url, params={"item": 1}, headers=STAFF)
    assert r.status_code == 409 and "no longer stored" in r.json()["detail"]
    assert shop.get(url, params={"item": 2}, headers=STAFF).status_code == 404
    assert shop.get(url, params={"version": 3}, headers=STAFF).status_code == 404
    assert shop.get("/api/v1/storefront/orders/none/guide", headers=STAFF).status_code == 404
    assert shop.get(url, params={"paper": "A5"}, headers=STAFF).status_code == 422


def test_hostile_signatures_are_401_not_a_crash(shop: TestClient) -> None:
    raw = json.dumps(event("e1", "order.paid", "o1", "p1")).encode()
    now = int(time.time())
    for header in (
        f"t={now},v1=" + "é" * 64,  # non-ASCII: hmac.compare_digest would raise TypeError
        f"t={'9' * 400},v1=00",  # a float overflow once subtracted from time.time()
        f"t=-{now},v1=00",
        f"t={now}.5,v1=00",
        "t=١٢٣,v1=00",  # int() reads Arabic-Indic digits; a unix time is ASCII digits only
    ):
        r = shop.post("/api/v1/storefront/events", content=raw, headers={SIGNATURE_HEADER: header.encode()})
        assert r.status_code == 401, (header, r.text)
    assert _count(shop, OrderEvent) == 0


def test_a_signed_body_nested_too_deep_or_with_huge_numbers_is_422(shop: TestClient) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    r = shop.post("/api/v1/storefront/events", content=deep, headers={SIGNATURE_HEADER: sign(SECRET.encode(), deep)})
    assert r.status_code == 422 and "nested more than 64 levels deep" in r.json()["detail"]
    body = event("e1", "order.paid", "o1", photo(shop))
    body["order"]["line_items"][0]["palette_version"] = 10**20  # beyond 64 bits: never reaches the database
    r = send(shop, body)
    assert r.status_code == 422 and "palette_version" in r.json()["detail"]
    assert _count(shop, OrderEvent) == 0
