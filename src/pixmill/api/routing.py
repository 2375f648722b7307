"""The route class of every pixmill router: JSON request bodies are parsed with the bounds of imaging.limits."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from pixmill.imaging.limits import loads


class BoundedJsonRequest(Request):
    """A request whose JSON body is refused as malformed (FastAPI's 422) when nested too deep or not UTF-8, instead
    of a RecursionError or a 400."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class BoundedJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            return await handler(BoundedJsonRequest(request.scope, request.receive))

        return bounded
