"""ASGI middleware: request ids and request logging; a hard cap on request body size and a read deadline."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pixmill.logs import request_id_var
from pixmill.metrics.instruments import HTTP_REQUEST_SECONDS
from pixmill.pixtools import is_pixtools_path

log = logging.getLogger("pixmill.http")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    """The template of the route that answered (`/api/v1/jobs/{job_id}`), never the raw path: the router records
    it in the scope; "unmatched" for a path no route has (each 404 would otherwise be a label of its own)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "unmatched"


class RequestIdMiddleware:
    """Take X-Request-ID (or make one), echo it, log each request with it, and time it by route (Prometheus)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "ms": round(elapsed * 1000, 2),
                },
            )
            method = scope["method"] if scope["method"] in _METHODS else "other"  # clients may send any word
            HTTP_REQUEST_SECONDS.labels(method, route_template(scope), str(status)).observe(elapsed)
            request_id_var.reset(token)


class BodyLimitMiddleware:
    """Refuse request bodies over `limit` bytes with 413, whether or not Content-Length is sent, and bodies that stall
    for more than `read_timeout_s` between two reads with 408 (closing the connection: a half-open or slowloris client
    holds nothing for longer than that)."""

    def __init__(self, app: ASGIApp, limit: int, read_timeout_s: float = 15.0) -> None:
        self.app = app
        self.limit = limit
        self.read_timeout_s = read_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._refuse(
                scope, send, 413, "Request too large", f"the request body is over the limit of {self.limit} bytes"
            )
            return
        received = 0
        refused: tuple[int, str, str] | None = None  # status, title, detail: the app is told the client left
        more_body = True

        async def limited_receive() -> Message:
            nonlocal received, refused, more_body
            if refused:
                return {"type": "http.disconnect"}
            if not more_body:  # the body is read: what is left to wait for is the client leaving, without deadline
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.read_timeout_s)
            except TimeoutError:
                detail = f"the request body stalled for over {self.read_timeout_s:g}s"
                refused = (408, "Request timeout", detail)
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                more_body = message.get("more_body", False)
                if received > self.limit:
                    refused = self._too_large()
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise
        if refused:
            await self._refuse(scope, send, *refused, close=refused[0] == 408)

    def _too_large(self) -> tuple[int, str, str]:
        return 413, "Request too large", f"the request body is over the limit of {self.limit} bytes"

    async def _refuse(
        self, scope: Scope, send: Send, status: int, title: str, detail: str, close: bool = False
    ) -> None:
        body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        media_type = b"application/problem+json"
        if is_pixtools_path(scope["path"]):  # FastAPI's default error shape there, as on every PixTools route
            body, media_type = {"detail": detail}, b"application/json"
        data = json.dumps(body).encode()
        headers = [(b"content-type", media_type), (b"content-length", str(len(data)).encode())]
        if close:  # the rest of the body may never come: the connection cannot carry another request
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})
