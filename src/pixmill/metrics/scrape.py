"""What one scrape reads: the samples of every process of this host (multiprocess mode) or of this process alone,
plus gauges read at scrape time (queue depth, pool backlog) from the `Reading`s the caller passes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from pixmill.metrics.multiproc import enabled

log = logging.getLogger("pixmill.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class Gauge:
    """One gauge read at scrape time: its samples are (label values, value)."""

    name: str
    documentation: str
    labels: Sequence[str]
    samples: Iterable[tuple[Sequence[str], float]]


@dataclass(frozen=True)
class Reading:
    """A function that reads some gauges now (it must answer within about a second); it may raise, and then
    its gauges are left out of this scrape and `pixmill_scrape_errors` says which one failed."""

    name: str
    read: Callable[[], Iterable[Gauge]]
    timeout_s: float = 1.0


# Readings run here, so a slow one (a broker that does not answer) costs a scrape timeout_s, never more; a stuck
# read holds one of these threads until its own socket timeout, and the next scrapes time out behind it.
_readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pixmill-metrics")


def _read(reading: Reading) -> list[Gauge]:
    return list(reading.read())


class _Readings:
    def __init__(self, readings: Iterable[Reading]) -> None:
        self.readings = list(readings)

    def collect(self) -> Iterator[Metric]:
        errors = GaugeMetricFamily(
            "pixmill_scrape_errors", "Gauges that could not be read at this scrape (1), by reading.", labels=["reading"]
        )
        for reading in self.readings:
            try:
                gauges = _readers.submit(_read, reading).result(timeout=reading.timeout_s)
            except Exception as exc:
                log.warning("a metrics reading failed", extra={"reading": reading.name, "error": repr(exc)})
                errors.add_metric([reading.name], 1.0)
                continue
            errors.add_metric([reading.name], 0.0)
            for gauge in gauges:
                family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=list(gauge.labels))
                for label_values, value in gauge.samples:
                    family.add_metric(list(label_values), value)
                yield family
        if self.readings:
            yield errors


class _ThisProcess:
    """The default registry's metrics, when multiprocess mode is off."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(readings: Iterable[Reading] = ()) -> bytes:
    """The text format of every sample this host's processes recorded, and of `readings` read now."""
    registry = CollectorRegistry(auto_describe=False)
    if enabled():
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(_Readings(readings))
    return generate_latest(registry)
