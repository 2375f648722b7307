"""How `pixmill serve` runs uvicorn: with a deadline on reading a request's headers, so connections that never
finish a request (half-open, or slowloris) are closed.

uvicorn bounds only the idle time between requests (`timeout_keep_alive`); a connection that sends nothing, or
part of its headers, would be held until the client goes away, which a half-open client never does. The body's
deadline is api/middleware.py's (it needs the ASGI side: the app is waiting on it).
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

# For uvicorn's `http` option, as an import string (a worker process imports it anew).
PROTOCOL = "pixmill.api.server:HeaderDeadlineProtocol"


@cache
def _header_timeout_s() -> float:
    from pixmill.config import Settings

    return Settings().header_timeout_s


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request headers are not complete within
    PIXMILL_HEADER_TIMEOUT_S of its opening, or of the first byte of a request that follows on it."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout_s = _header_timeout_s()
        self._header_deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._header_deadline = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.logger.info("closing a connection whose request headers took over %ss", self.header_timeout_s)
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # until the first request's headers are in (the keep-alive timer covers later idle time)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
