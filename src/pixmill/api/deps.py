"""Typed dependencies for routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from pixmill.context import Context
from pixmill.identity import browser_sessions as sessions
from pixmill.identity import oidc
from pixmill.identity import service as identity
from pixmill.identity.api_keys import KEY_PREFIX
from pixmill.identity.errors import Forbidden, Unauthenticated
from pixmill.identity.principal import ANONYMOUS, Principal
from pixmill.pixtools import is_pixtools_path
from pixmill.worker.port import JobRunner


def _ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def _runner(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.runner
    return runner


def base_url(request: Request) -> str:
    """The URL prefix clients reached us on, for the links we hand out."""
    return str(request.base_url).rstrip("/")


def client_address(request: Request) -> str | None:
    """The caller's address (behind a proxy uvicorn trusts: the forwarded one)."""
    return request.client.host[:64] if request.client else None


Ctx = Annotated[Context, Depends(_ctx)]
Address = Annotated[str | None, Depends(client_address)]
Runner = Annotated[JobRunner, Depends(_runner)]
BaseUrl = Annotated[str, Depends(base_url)]


def _credential(request: Request) -> str | None:
    """The API key or token a request carries: `Authorization: Bearer …` or `X-API-Key`."""
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    key = request.headers.get("x-api-key") or None
    # PixTools' page sends an X-API-Key of its own: on its routes a header that is no pixmill key is ignored (the
    # caller is anonymous), as it always was; anywhere else it is refused as any wrong key is.
    if key is not None and is_pixtools_path(request.url.path) and not key.startswith(f"{KEY_PREFIX}_"):
        return None
    return key


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def current_principal(request: Request) -> Principal:
    """Who is calling, worked out once per request: an API key or a single sign-on token, else a browser session,
    else anonymous.

    A credential that is present but not valid is a 401, never a silent fall-back to anonymous."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = ANONYMOUS
    credential = _credential(request)
    if credential is not None:
        ctx: Context = request.app.state.ctx
        # Not one of our keys but a JWT (three dot-separated parts): a token of the single sign-on provider.
        if ctx.settings.oidc_enabled and not credential.startswith("pmk_") and credential.count(".") == 2:
            principal = oidc.principal_from_bearer_jwt(ctx, credential)
        else:
            principal = identity.principal_from_api_key(ctx, credential)
    elif (cookie := request.cookies.get(sessions.SESSION_COOKIE)) is not None:
        found = sessions.resolve(request.app.state.ctx, cookie)
        if found is not None:
            principal, csrf = found
            # A cookie is sent by the browser on its own, so a state-changing request must also prove it comes
            # from our page: the CSRF token, which only a page of this origin can read, in a header.
            if request.method not in _SAFE_METHODS and not sessions.csrf_ok(
                csrf, request.headers.get(sessions.CSRF_HEADER)
            ):
                raise Forbidden(
                    f"a signed-in browser request that changes something needs the {sessions.CSRF_HEADER} header"
                )
        # An unknown or expired session cookie is no credential: the caller is anonymous (and may sign in again).
    request.state.principal = principal
    return principal


Caller = Annotated[Principal, Depends(current_principal)]


def require_scope(scope: str) -> Any:
    """A dependency: the caller is signed in and may use `scope` (401 when anonymous, 403 without it)."""

    def check(principal: Caller) -> Principal:
        signed_in(principal, scope)
        return principal

    return Depends(check)


# What a route behind `require_scope` may answer for it, for its OpenAPI `responses`.
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in (no session and no valid API key)"},
    403: {"description": "The account or API key lacks the role or scope this needs"},
}

# The /api routes an anonymous caller may reach when PIXMILL_ANONYMOUS=off: health, signing in, and the shop's
# HMAC-signed events (authenticated by their own signature).
OPEN_PATHS = frozenset({"/api/livez", "/api/readyz", "/api/health", "/api/v1/storefront/events"})
OPEN_PREFIXES = ("/api/v1/auth/",)


def is_open_path(path: str) -> bool:
    """Whether `path` needs no principal even when anonymous use is off."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES) or not path.startswith("/api/")


def anonymous_gate(request: Request) -> None:
    """App-wide: with PIXMILL_ANONYMOUS=off every /api route but health, sign-in and shop events needs a
    principal; anonymous callers get a 401 saying so."""
    if request.app.state.ctx.settings.anonymous != "off" or is_open_path(request.url.path):
        return
    if current_principal(request).anonymous:
        raise Unauthenticated("anonymous use is off on this server (PIXMILL_ANONYMOUS=off): sign in or send an API key")


def need_scope(principal: Principal, scope: str) -> None:
    """For routes open to anonymous callers: a signed-in caller still needs `scope` (403 without it)."""
    if not principal.anonymous and not principal.allows(scope):
        raise Forbidden(f"this needs the {scope!r} scope")


def signed_in(principal: Principal, scope: str) -> None:
    """The caller is signed in (401) and may use `scope` (403)."""
    if principal.anonymous:
        raise Unauthenticated(f"sign in or send an API key with the {scope!r} scope")
    need_scope(principal, scope)
