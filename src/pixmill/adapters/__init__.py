"""The ports to systems outside the process, one folder each: storage, cache, events, idempotency.

Each folder holds the port (its Protocol and its errors), the embedded adapter and the distributed adapter side by
side. The runner port is not here: worker/ already holds it with both of its adapters (worker/port.py,
worker/runner.py for the in-process pools, worker/celery_runner.py for Celery), beside the task registry and the
retry policy they share.
"""
