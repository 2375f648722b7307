"""Typed dependencies for routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request

from pixmill.context import Context
from pixmill.identity import browser_sessions as sessions
from pixmill.identity import oidc
from pixmill.identity import service as identity
from pixmill.identity.errors import Forbidden, Unauthenticated
from pixmill.identity.principal import ANONYMOUS, Principal
from pixmill.tokens import tokens_equal
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


Ctx = Annotated[Context, Depends(_ctx)]
Runner = Annotated[JobRunner, Depends(_runner)]
BaseUrl = Annotated[str, Depends(base_url)]


def _staff(request: Request, x_api_key: Annotated[str | None, Header(alias="X-API-Key")] = None) -> None:
    from pixmill.api.problems import Problem

    expected = request.app.state.ctx.settings.staff_api_key
    if not expected:
        raise Problem(403, "Forbidden", "staff routes are disabled: set PIXMILL_STAFF_API_KEY")
    if not x_api_key or not tokens_equal(expected, x_api_key):
        raise Problem(401, "Unauthorized", "a valid X-API-Key header is required")


Staff = Depends(_staff)
# What a route behind `Staff` may answer for it, for its OpenAPI `responses`.
STAFF_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid X-API-Key"},
    403: {"description": "Staff routes are disabled (PIXMILL_STAFF_API_KEY is unset)"},
}


def _credential(request: Request) -> str | None:
    """The API key or token a request carries: `Authorization: Bearer …` or `X-API-Key`."""
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return request.headers.get("x-api-key") or None


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
        if principal.anonymous:
            raise Unauthenticated(f"sign in or send an API key with the {scope!r} scope")
        if not principal.allows(scope):
            raise Forbidden(f"this needs the {scope!r} scope")
        return principal

    return Depends(check)


def require_role(role: str) -> Any:
    """A dependency: the caller is signed in and has `role` (admin counts as staff)."""

    def check(principal: Caller) -> Principal:
        if principal.anonymous:
            raise Unauthenticated(f"sign in as {role}")
        if not (role in principal.roles or principal.is_admin):
            raise Forbidden(f"this needs the {role!r} role")
        return principal

    return Depends(check)
