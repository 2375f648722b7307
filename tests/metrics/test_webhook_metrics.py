"""Webhook deliveries by outcome and circuit transitions, counted against a real sink on 127.0.0.1 (this test
process keeps its samples in memory: multiprocess mode is `pixmill serve`'s and `pixmill worker`'s)."""

from __future__ import annotations

import time

from prometheus_client import REGISTRY

from pixmill.webhooks.service import WebhookCircuits, deliver
from tests.webhook_sink import WebhookSink


def _count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _deliver(url: str, circuits: WebhookCircuits) -> bool:
    payload = {"job_id": "j", "status": "COMPLETED"}
    options = {"secret": b"k", "attempts": 2, "backoff_s": 0.01, "timeout_s": 2.0, "allow_private": True}
    return deliver(url, payload, circuits=circuits, **options).delivered  # type: ignore[arg-type]


def test_deliveries_and_circuit_transitions_are_counted() -> None:
    outcomes = ("delivered", "refused", "failed", "circuit_open", "invalid")
    states = ("open", "half_open", "closed")
    before = {o: _count("pixmill_webhook_deliveries_total", outcome=o) for o in outcomes}
    before |= {s: _count("pixmill_webhook_circuit_transitions_total", state=s) for s in states}
    circuits = WebhookCircuits(fail_max=3, reset_s=0.5)
    with WebhookSink(status=500) as sink:
        assert not _deliver(sink.url, circuits)  # answered 500 twice: refused
        assert not _deliver(sink.url, circuits)  # the 3rd failure opens the circuit: circuit_open
        time.sleep(0.6)
        sink.status = 200
        assert _deliver(sink.url, circuits)  # half-open, then closed: delivered
        port = sink.server.server_address[1]
    # nothing listens there any more: no answer, failed
    assert not _deliver(f"http://127.0.0.1:{port}/hook", WebhookCircuits(fail_max=3, reset_s=0.5))
    assert not _deliver("ftp://example.org/hook", circuits)  # not a webhook URL: invalid
    after = {o: _count("pixmill_webhook_deliveries_total", outcome=o) for o in outcomes}
    after |= {s: _count("pixmill_webhook_circuit_transitions_total", state=s) for s in states}
    assert {k: after[k] - before[k] for k in after} == {
        "delivered": 1,
        "refused": 1,
        "failed": 1,
        "circuit_open": 1,
        "invalid": 1,
        "open": 1,
        "half_open": 1,
        "closed": 1,
    }
