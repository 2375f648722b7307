"""storage.keys is the one list of storage prefixes: keys are built there, and no other module spells a prefix."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

import pixmill
from pixmill.adapters.storage import InvalidKey
from pixmill.adapters.storage.keys import (
    PREFIXES,
    Retention,
    archive_key,
    canvas_preview_key,
    expiring_prefixes,
    health_probe_key,
    lifecycle_days,
    order_file_key,
    render_cache_key,
    result_key,
    result_prefix,
    upload_key,
)

SRC = Path(pixmill.__file__).parent


def test_every_key_falls_under_a_declared_prefix() -> None:
    keys = [
        upload_key("a1"),
        result_key("j1", 0, 2, "png"),
        result_key("j1", 1, 2, "png", part=3),
        archive_key("j1"),
        render_cache_key("abcdef"),
        canvas_preview_key("0123"),
        order_file_key("shop:order/7", 2, 0, "plan.json"),
        health_probe_key(),
    ]
    assert keys[2].startswith(result_prefix("j1") + "/")
    assert order_file_key("shop:order/7", 2, 0, "plan.json") == "orders/shop_order_7/v2/0/plan.json"
    names = {p.name for p in PREFIXES}
    assert {k.split("/", 1)[0] for k in keys} == names
    with pytest.raises(InvalidKey):
        upload_key("../escape")


def test_lifetimes_follow_the_retention_settings() -> None:
    lifetimes = {p.name: t for p, t in expiring_prefixes(Retention(hours=6, order_days=30))}
    assert lifetimes == {
        "uploads": timedelta(days=30, hours=6),
        "results": timedelta(hours=6),
        "archives": timedelta(hours=6),
        "render-cache": timedelta(hours=6),
        "canvas-previews": timedelta(hours=6),
        "orders": timedelta(days=30),
    }
    assert [lifecycle_days(timedelta(hours=h)) for h in (0.5, 24, 25, 24 * 90)] == [1, 1, 2, 90]


def test_no_other_module_spells_a_storage_prefix() -> None:
    """Keys are built by storage.keys only, so a change of prefix or retention there is the whole change."""
    names = "|".join(re.escape(p.name) for p in PREFIXES)
    spelled = re.compile(rf"""f?["']({names})/""")
    offenders = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in SRC.rglob("*.py")
        if path != SRC / "storage" / "keys.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if spelled.search(line)
    ]
    assert offenders == []
