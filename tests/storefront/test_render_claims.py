"""Order renders are claimed by a process and resumed only when that process is gone: no start resets live work."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from pixmill.app import create_app
from pixmill.context import Context
from pixmill.db.models import OrderRender
from pixmill.storefront.service import resumable_renders
from pixmill.worker.owner import pid_of
from pixmill.worker.retry import claim_lease_s
from tests.storefront.conftest import event, open_shop, photo, send, shop_settings, wait_state

# Big enough that the render takes a while (preview at print width, a PDF guide of every cell): it can be caught
# in flight.
BIG = {"cols": 150, "rows": 190, "max_colors": 30}


def renders(ctx: Context, order_id: str) -> list[dict[str, Any]]:
    with ctx.session() as s:
        rows = s.scalars(select(OrderRender).where(OrderRender.order_id == order_id).order_by(OrderRender.id))
        return [{"status": r.status, "claimed_by": r.claimed_by, "attempts": r.attempts} for r in rows]


def caught_running(ctx: Context, order_id: str, timeout: float = 120) -> dict[str, Any]:
    """The order's render once a process has claimed it (RUNNING), as the database has it."""
    deadline = time.monotonic() + timeout
    while True:
        (render,) = renders(ctx, order_id)
        if render["status"] == "RUNNING":
            return render
        assert render["status"] == "PENDING", render
        assert time.monotonic() < deadline, render
        time.sleep(0.01)


def test_starting_another_api_leaves_a_render_in_flight_in_a_live_process_alone(
    shop: TestClient, tmp_path: Path
) -> None:
    ctx: Context = shop.app.state.ctx  # type: ignore[attr-defined]
    assert send(shop, event("e1", "order.paid", "o-1", photo(shop), **BIG)).status_code == 200
    held = caught_running(ctx, "o-1")
    pid = pid_of(held["claimed_by"])
    assert pid is not None and pid != os.getpid()  # a pool process of the API renders it, not the API itself
    os.kill(pid, signal.SIGSTOP)  # in flight, and it stays so while the second API starts
    try:
        assert renders(ctx, "o-1") == [held]
        with TestClient(create_app(shop_settings(tmp_path))) as second:
            assert second.get("/api/livez").status_code == 200
            time.sleep(1.0)  # room for anything the start queued to run
            assert renders(ctx, "o-1") == [held]  # not reset to PENDING, not claimed again
        assert renders(ctx, "o-1") == [held]
    finally:
        os.kill(pid, signal.SIGCONT)
    order = wait_state(shop, "o-1", ("ready_for_review",))
    assert [r["status"] for r in order["renders"]] == ["COMPLETED"]
    assert renders(ctx, "o-1") == [{**held, "status": "COMPLETED"}]  # finished by its holder, rendered once


def test_a_render_whose_process_died_is_rendered_again_by_another_process(shop: TestClient) -> None:
    ctx: Context = shop.app.state.ctx  # type: ignore[attr-defined]
    assert send(shop, event("e1", "order.paid", "o-2", photo(shop), **BIG)).status_code == 200
    held = caught_running(ctx, "o-2")
    pid = pid_of(held["claimed_by"])
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    order = wait_state(shop, "o-2", ("ready_for_review",))
    assert [r["status"] for r in order["renders"]] == ["COMPLETED"]
    (done,) = renders(ctx, "o-2")
    assert done["attempts"] == 2 and done["claimed_by"] != held["claimed_by"]


def _set_render(ctx: Context, order_id: str, **values: Any) -> None:
    with ctx.session() as s:
        s.execute(update(OrderRender).where(OrderRender.order_id == order_id).values(**values))
        s.commit()


def test_the_sweep_queues_renders_never_queued_and_takes_over_a_claim_past_its_lease(tmp_path: Path) -> None:
    """A render whose event came while the runner was unavailable (queued_at unset) is queued by the sweep; one held by
    a process on another host is left alone while its claim is fresh, and taken over once it outlives the lease."""
    settings = shop_settings(tmp_path, render_sweep_s=0.2, job_timeout_s=5)
    lease = claim_lease_s(settings)
    with open_shop(settings) as client:
        ctx: Context = client.app.state.ctx  # type: ignore[attr-defined]
        assert send(client, event("e1", "order.paid", "o-3", photo(client))).status_code == 200
        wait_state(client, "o-3", ("ready_for_review",))
        # As if the broker had been down: the render is PENDING and was never handed to the runner.
        _set_render(ctx, "o-3", status="PENDING", claimed_by=None, queued_at=None, attempts=0)
        assert resumable_renders(ctx, startup=False) == [("o-3", 1)]
        wait_until_rendered = time.monotonic() + 60
        while renders(ctx, "o-3")[0]["status"] != "COMPLETED":
            assert time.monotonic() < wait_until_rendered, renders(ctx, "o-3")
            time.sleep(0.05)
        assert renders(ctx, "o-3")[0]["attempts"] == 1  # the sweep queued it once; nothing else ran it
        assert resumable_renders(ctx, startup=False) == []

        # Held by a live-looking process on another host, claimed just now: nobody takes it.
        now = datetime.now(UTC)
        _set_render(ctx, "o-3", status="RUNNING", claimed_by="elsewhere/4242/99", claimed_at=now, attempts=1)
        assert resumable_renders(ctx, startup=False, now=now + timedelta(seconds=lease - 1)) == []
        time.sleep(1.0)  # several sweeps
        assert renders(ctx, "o-3")[0] == {"status": "RUNNING", "claimed_by": "elsewhere/4242/99", "attempts": 1}
        # The same claim, older than the lease: its holder is dead or stuck; the sweep hands the render on.
        assert resumable_renders(ctx, startup=False, now=now + timedelta(seconds=lease + 1)) == [("o-3", 1)]
        _set_render(ctx, "o-3", claimed_at=now - timedelta(seconds=lease + 1))
        deadline = time.monotonic() + 60
        while renders(ctx, "o-3")[0]["status"] != "COMPLETED":
            assert time.monotonic() < deadline, renders(ctx, "o-3")
            time.sleep(0.05)
        done = renders(ctx, "o-3")[0]
        assert done["attempts"] == 2 and done["claimed_by"] != "elsewhere/4242/99"
