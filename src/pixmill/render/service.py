"""Render URLs: `/render/<signature>/<step>/<step>/…/<asset id>`.

Each step is `name:key=value,…` (the CLI's `--op` syntax; `webp:quality=80` is shorthand for convert).
The signature is HMAC-SHA256 over the asset's owner (its user id, or `-` for an anonymous asset), a newline and
everything after it, base64url, 32 characters: a URL signed for one user's asset is no key to another's. `unsafe`
replaces it when unsigned URLs are enabled (anonymous assets only).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from pixmill.adapters.storage import ObjectNotFound
from pixmill.adapters.storage.keys import render_cache_key
from pixmill.canvas.types import Palettes
from pixmill.context import Context
from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.pipeline import Pipeline, parse_pipeline, run_pipeline
from pixmill.imaging.step_syntax import parse_step
from pixmill.imaging.values import DataValue, EncodedValue
from pixmill.metrics.instruments import RENDER_CACHE, RENDER_SECONDS
from pixmill.palettes.service import resolve as resolve_palettes
from pixmill.tokens import tokens_equal

UNSAFE = "unsafe"
# What stands for the owner of an anonymous asset in what is signed (user ids are hex: never this).
ANONYMOUS_OWNER = "-"


def sign_path(secret: bytes, path: str, owner_id: str | None) -> str:
    """The signature segment for `path` (the steps and the asset id, joined by '/') of an asset owned by
    `owner_id` (None: anonymous)."""
    message = f"{owner_id or ANONYMOUS_OWNER}\n{path}"
    digest = hmac.new(secret, message.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:32]


def verify_path(secret: bytes, signature: str, path: str, owner_id: str | None) -> bool:
    """Whether `signature` was made for `path` on an asset of `owner_id`."""
    return tokens_equal(sign_path(secret, path, owner_id), signature)


@dataclass(frozen=True)
class RenderRequest:
    asset_id: str
    pipeline: Pipeline

    @property
    def spec(self) -> dict[str, object]:
        return self.pipeline.to_json()


def parse_render_path(path: str) -> RenderRequest:
    """Steps and asset id from the path after the signature; raises InvalidPipeline with the reason."""
    segments = [s for s in path.split("/") if s]
    if len(segments) < 2:
        raise InvalidPipeline(
            "a render path is /render/<signature>/<step>/…/<asset id> with at least one step",
            [{"node": None, "field": "path", "message": "no steps"}],
        )
    *steps, asset_id = segments
    return RenderRequest(asset_id, parse_pipeline([parse_step(s) for s in steps]))


def cache_key(asset_sha256: str, pipeline: Pipeline, palette_versions: dict[str, int] | None = None) -> str:
    """Same image content + same canonical pipeline (+ same palette versions) → same key, however spelled."""
    canonical = json.dumps([pipeline.to_json(), palette_versions or {}], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{asset_sha256}\n{canonical}".encode()).hexdigest()


@dataclass(frozen=True)
class Rendered:
    data: bytes
    media_type: str


def render(ctx: Context, storage_key: str, spec: dict[str, object], key: str) -> Rendered:
    """Run the pipeline on a stored image and cache the result under `key` (runs in a worker process)."""
    started = time.monotonic()
    pipeline = parse_pipeline(spec)
    run_ctx = ctx.settings.run_context(palettes=resolve_palettes(ctx, pipeline.names_needed(Palettes)))
    result = run_pipeline(pipeline, ctx.storage.get(storage_key), run_ctx)
    outputs = result.outputs
    if len(outputs) != 1:
        raise InvalidPipeline(
            "a render URL must produce exactly one result",
            [{"node": None, "field": "path", "message": f"{len(outputs)} results"}],
        )
    value = outputs[0].value
    if isinstance(value, EncodedValue):
        rendered = Rendered(value.data, value.media_type)
    else:
        assert isinstance(value, DataValue)
        rendered = Rendered(json.dumps(value.data, sort_keys=True).encode(), "application/json")
    # One file per entry: the media type on the first line, then the bytes.
    ctx.storage.put(cached_key(key), rendered.media_type.encode() + b"\n" + rendered.data, rendered.media_type)
    RENDER_SECONDS.labels("ml" if "ml" in pipeline.queues else "standard").observe(time.monotonic() - started)
    return rendered


def cached_key(key: str) -> str:
    return render_cache_key(key)


def cached(ctx: Context, key: str) -> Rendered | None:
    """The cached render under `key`, or None."""
    try:
        entry = ctx.storage.get(cached_key(key))
    except ObjectNotFound:
        RENDER_CACHE.labels("miss").inc()
        return None
    RENDER_CACHE.labels("hit").inc()
    media_type, _, data = entry.partition(b"\n")
    return Rendered(data, media_type.decode())
