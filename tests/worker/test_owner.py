"""A claim names its process so that any process on the host can tell whether it is gone."""

from __future__ import annotations

import subprocess
import sys

from pixmill.worker import owner


def test_a_live_process_keeps_its_claim_and_a_dead_one_loses_it() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        claim = owner.of_pid(proc.pid)
        assert owner.pid_of(claim) == proc.pid
        assert not owner.is_gone(claim)
        assert not owner.may_take_over(claim, redelivered=True)  # its connection dropped; it did not die
    finally:
        proc.kill()
        proc.wait()
    assert owner.is_gone(claim)
    assert owner.may_take_over(claim, redelivered=False)


def test_a_reused_pid_is_not_the_process_that_claimed() -> None:
    host, pid, started = owner.this_process().split("/")
    assert not owner.is_gone(owner.this_process())
    assert owner.is_gone(f"{host}/{pid}/{int(started) + 1}")  # same pid, another start time: another process


def test_a_claim_from_another_host_is_left_to_the_broker() -> None:
    claim = "some-other-host/1/1"
    assert not owner.is_gone(claim)  # cannot be checked from here
    assert not owner.may_take_over(claim, redelivered=False)
    assert owner.may_take_over(claim, redelivered=True)  # the broker gave its message back
    assert owner.is_gone(None)  # a claim from before owners were recorded
