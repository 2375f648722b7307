"""Storage keys: every prefix pixmill writes under, who expires it and for how long; keys built from ids and
checked so that none can escape the storage root.

This module is the one list of prefixes. Each domain builds its keys with the functions below and deletes its
own objects in its own expiry sweep; the S3 lifecycle rules are derived from `PREFIXES` as a backstop to those
sweeps, so a new prefix declared here is expired on S3 even before its domain sweeps it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pixmill.adapters.storage import InvalidKey
from pixmill.config import Settings

_SEGMENT = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class Retention:
    """The retention settings that govern storage (PIXMILL_RETENTION_HOURS, PIXMILL_ORDER_RETENTION_DAYS)."""

    hours: float = float(Settings.model_fields["retention_hours"].default)
    order_days: float = float(Settings.model_fields["order_retention_days"].default)

    @classmethod
    def from_settings(cls, settings: Settings) -> Retention:
        return cls(hours=settings.retention_hours, order_days=settings.order_retention_days)


@dataclass(frozen=True)
class Prefix:
    """A top-level storage prefix: the domain that writes and expires it, and how long an object under it lives.

    `lifetime` is the longest an object may live after it was last written (None: its writer deletes it at once);
    S3 lifecycle rules use it, rounded up to whole days.
    """

    name: str
    owner: str
    governed_by: str
    lifetime: Callable[[Retention], timedelta | None]

    @property
    def path(self) -> str:
        """The prefix as S3 filters spell it, with its trailing slash."""
        return f"{self.name}/"


def _hours(r: Retention) -> timedelta:
    return timedelta(hours=r.hours)


def _upload_lifetime(r: Retention) -> timedelta:
    # An upload lives the retention period, unless an order takes its photo: then order_days from the order, which
    # comes at most one retention period after the upload (storefront.service keeps the asset's row that long).
    return timedelta(days=r.order_days, hours=r.hours)


UPLOADS = Prefix(
    "uploads", "assets", "PIXMILL_RETENTION_HOURS (orders' photos: PIXMILL_ORDER_RETENTION_DAYS)", _upload_lifetime
)
RESULTS = Prefix("results", "jobs", "PIXMILL_RETENTION_HOURS", _hours)
ARCHIVES = Prefix("archives", "jobs", "PIXMILL_RETENTION_HOURS", _hours)  # the zip of a PixTools /api/process job
RENDER_CACHE = Prefix("render-cache", "render", "PIXMILL_RETENTION_HOURS", _hours)
# A preview's signed link lives the retention period from its request, and every request writes the preview anew,
# so the file outlives every link handed out for it. No order refers to one: an order renders its own preview.
CANVAS_PREVIEWS = Prefix("canvas-previews", "storefront", "PIXMILL_RETENTION_HOURS", _hours)
ORDERS = Prefix("orders", "storefront", "PIXMILL_ORDER_RETENTION_DAYS", lambda r: timedelta(days=r.order_days))
HEALTH = Prefix("_health", "storage", "none: the health check deletes its probe at once", lambda r: None)

PREFIXES: tuple[Prefix, ...] = (UPLOADS, RESULTS, ARCHIVES, RENDER_CACHE, CANVAS_PREVIEWS, ORDERS, HEALTH)


def lifecycle_days(lifetime: timedelta) -> int:
    """A lifetime as S3 lifecycle days: rounded up, at least one (lifecycle rules count whole days)."""
    return max(1, math.ceil(lifetime.total_seconds() / 86400))


def expiring_prefixes(retention: Retention) -> list[tuple[Prefix, timedelta]]:
    """Every prefix whose objects expire by age, with its lifetime under `retention`."""
    out = []
    for prefix in PREFIXES:
        lifetime = prefix.lifetime(retention)
        if lifetime is not None:
            out.append((prefix, lifetime))
    return out


def written_before(prefix: Prefix, settings: Settings, now: datetime) -> datetime:
    """The cutoff of an age-based sweep of `prefix` at `now`: objects last written before it are expired."""
    lifetime = prefix.lifetime(Retention.from_settings(settings))
    if lifetime is None:
        raise ValueError(f"objects under {prefix.path} do not expire by age")
    return now - lifetime


def check_key(key: str) -> str:
    """Return `key` if it is a relative path of safe segments (no '..', no absolute path)."""
    if not key or len(key) > 512:
        raise InvalidKey("empty or overlong key")
    for segment in key.split("/"):
        if not _SEGMENT.match(segment) or segment in (".", "..") or ".." in segment:
            raise InvalidKey(f"unsafe key segment {segment!r}")
    return key


def upload_key(asset_id: str) -> str:
    return check_key(f"{UPLOADS.name}/{asset_id}")


def result_prefix(job_id: str) -> str:
    """Everything a job's outputs are stored under."""
    return check_key(f"{RESULTS.name}/{job_id}")


def result_key(job_id: str, input_index: int, node_index: int, extension: str, part: int = 0) -> str:
    name = f"{node_index}-{part}" if part else f"{node_index}"
    return check_key(f"{result_prefix(job_id)}/{input_index}/{name}.{extension}")


def archive_key(job_id: str) -> str:
    return check_key(f"{ARCHIVES.name}/{job_id}.zip")


def render_cache_key(digest: str) -> str:
    """A cached render; two-character fan-out so no directory of local storage grows huge."""
    return check_key(f"{RENDER_CACHE.name}/{digest[:2]}/{digest}")


def canvas_preview_key(digest: str) -> str:
    return check_key(f"{CANVAS_PREVIEWS.name}/{digest}.png")


def order_prefix(order_id: str) -> str:
    """Everything stored for one order (`order_id` is the shop's: made safe as a key segment)."""
    safe = "".join(c if c.isalnum() or c in "_-" else "_" for c in order_id)[:100] or "order"
    return check_key(f"{ORDERS.name}/{safe}")


def order_item_prefix(order_id: str, version: int, item_index: int) -> str:
    """The print files of one line item at one render version."""
    return check_key(f"{order_prefix(order_id)}/v{version}/{item_index}")


def order_file_key(order_id: str, version: int, item_index: int, filename: str) -> str:
    return check_key(f"{order_item_prefix(order_id, version, item_index)}/{filename}")


def health_probe_key() -> str:
    return check_key(f"{HEALTH.name}/probe")
