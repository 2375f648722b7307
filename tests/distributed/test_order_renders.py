"""Order renders with the celery runner: queued through the one door, run on `pixmill worker` processes, and never
reset by an API that starts while a worker holds one."""

from __future__ import annotations

import os
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pixmill.app import create_app
from pixmill.config import Settings
from pixmill.worker.owner import pid_of
from tests.conftest import make_settings
from tests.distributed.conftest import api_processes
from tests.distributed.servers import PrivateRabbit
from tests.principals import staff
from tests.storefront.conftest import DMC, SECRET, STAFF, event, photo, send, wait_state
from tests.storefront.test_render_claims import BIG, caught_running, renders

pytestmark = pytest.mark.distributed


@pytest.fixture
def shop_settings(celery_settings: Settings) -> Settings:
    return celery_settings.model_copy(update={"storefront_secret": SECRET})


def _shop(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        STAFF.clear()
        STAFF.update(staff(client, f"shop-{uuid.uuid4().hex[:8]}@example.org").headers)
        r = client.post(
            "/api/v1/palettes", data={"name": "dmc"}, files={"file": ("dmc.csv", DMC.read_bytes())}, headers=STAFF
        )
        assert r.status_code == 201, r.text
        yield client


def _worker_pids(leader: int) -> set[int]:
    """The `pixmill worker` process and its pool processes (its own session: start_new_session)."""
    pids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == leader:
                    pids.add(int(entry))
            except ProcessLookupError:
                continue
    return pids


def test_an_order_render_runs_on_a_worker_process_not_the_api(shop_settings: Settings, start_worker: Any) -> None:
    worker = start_worker("standard", shop_settings)
    for client in _shop(shop_settings):
        assert send(client, event("e1", "order.paid", "o-1", photo(client))).status_code == 200
        order = wait_state(client, "o-1", ("ready_for_review",))
        assert [r["status"] for r in order["renders"]] == ["COMPLETED"], order
        (render,) = renders(client.app.state.ctx, "o-1")  # type: ignore[attr-defined]
    host, pid = render["claimed_by"].split("/")[0], pid_of(render["claimed_by"])
    assert host == socket.gethostname() and pid is not None
    assert pid != os.getpid()  # the API (this process, under TestClient) did not render it
    assert worker.proc is not None and pid in _worker_pids(worker.proc.pid) - {worker.proc.pid}  # a pool process


def test_starting_another_api_changes_no_render_a_live_worker_holds(shop_settings: Settings, start_worker: Any) -> None:
    worker = start_worker("standard", shop_settings)
    for client in _shop(shop_settings):
        ctx = client.app.state.ctx  # type: ignore[attr-defined]
        assert send(client, event("e1", "order.paid", "o-2", photo(client), **BIG)).status_code == 200
        held = caught_running(ctx, "o-2")
        pid = pid_of(held["claimed_by"])
        assert worker.proc is not None and pid in _worker_pids(worker.proc.pid)
        os.kill(pid, signal.SIGSTOP)  # the worker holds the render, in flight, while another API process starts
        try:
            with api_processes(shop_settings):
                time.sleep(1.0)  # its start is over (it answers); room for anything it queued to run
            assert renders(ctx, "o-2") == [held]  # neither reset to PENDING nor claimed again
        finally:
            os.kill(pid, signal.SIGCONT)
        order = wait_state(client, "o-2", ("ready_for_review",))
        assert [r["status"] for r in order["renders"]] == ["COMPLETED"], order
        assert renders(ctx, "o-2") == [{**held, "status": "COMPLETED"}]  # its holder finished it, rendered once


def test_an_order_paid_while_the_broker_is_down_renders_once_it_is_back_without_a_restart(
    tmp_path: Path, postgres_url: str, private_rabbit: PrivateRabbit, start_worker: Any
) -> None:
    settings = make_settings(
        tmp_path,
        database_url=postgres_url,
        broker_url=private_rabbit.url,
        runner="celery",
        workers=1,
        storefront_secret=SECRET,
        render_sweep_s=1.0,
    )
    worker = start_worker("standard", settings)
    for client in _shop(settings):
        ctx = client.app.state.ctx  # type: ignore[attr-defined]
        private_rabbit.stop()
        # The event is stored and answered (a 503 would make the shop resend it); its render cannot be queued.
        assert send(client, event("e1", "order.paid", "o-3", photo(client))).status_code == 200
        assert [r["status"] for r in renders(ctx, "o-3")] == ["PENDING"]
        time.sleep(2.5)  # sweeps while the broker is down queue nothing and break nothing
        assert [r["status"] for r in renders(ctx, "o-3")] == ["PENDING"]
        private_rabbit.start()
        order = wait_state(client, "o-3", ("ready_for_review",), timeout=120)  # the same API process, not restarted
        assert [r["status"] for r in order["renders"]] == ["COMPLETED"], order
        (render,) = renders(ctx, "o-3")
        assert render["attempts"] == 1 and pid_of(render["claimed_by"]) != os.getpid()  # once, on the worker
    assert worker.proc is not None and worker.proc.poll() is None
