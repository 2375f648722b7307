"""Single sign-on routes: send the browser to the OpenID provider, and take it back with a session."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse

from pixmill.api.deps import BaseUrl, Ctx
from pixmill.identity import browser_sessions as sessions
from pixmill.sso import service

router = APIRouter(prefix="/api/v1/auth/sso", tags=["auth"])

_COMMON: dict[int | str, dict[str, Any]] = {
    404: {"description": "Single sign-on is not configured"},
    503: {"description": "The identity provider cannot be reached"},
}


@router.get(
    "/login",
    summary="Sign in with the OpenID Connect provider (redirects there)",
    status_code=302,
    response_class=RedirectResponse,
    responses={302: {"description": "To the provider's authorization endpoint"}, **_COMMON},
)
def sso_login(
    ctx: Ctx,
    base_url: BaseUrl,
    next: Annotated[str, Query(max_length=2000, description="Path to return to after signing in")] = "/",
) -> RedirectResponse:
    url, flow = service.begin(ctx, base_url, next)
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        service.FLOW_COOKIE,
        service.pack(ctx.settings, flow),
        max_age=service.FLOW_TTL_S,
        httponly=True,
        samesite="lax",  # sent on the provider's top-level redirect back to us
        secure=flow.redirect_uri.startswith("https://"),
        path=service.FLOW_COOKIE_PATH,
    )
    return response


@router.get(
    "/callback",
    summary="Where the provider sends the browser back: starts a session, then redirects to `next`",
    status_code=302,
    response_class=RedirectResponse,
    responses={
        302: {"description": "Signed in (session cookies set), to the path the sign-in started from"},
        400: {"description": "Bad or missing state, an error from the provider, or a code it would not exchange"},
        409: {"description": "A local account has the e-mail and the provider does not say it is verified"},
        **_COMMON,
    },
)
def sso_callback(
    ctx: Ctx,
    request: Request,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
    error_description: Annotated[str | None, Query(max_length=1024)] = None,
) -> RedirectResponse:
    user_id, next_path = service.finish(
        ctx, request.cookies.get(service.FLOW_COOKIE), code, state, error, error_description
    )
    token, csrf = sessions.start(ctx, user_id, via="sso")
    response = RedirectResponse(next_path, status_code=302)
    secure = (ctx.settings.oidc_redirect_url or str(request.base_url)).startswith("https://")
    sessions.set_cookies(response, token, csrf, secure=secure, ttl=sessions.ttl_of(ctx))
    response.delete_cookie(service.FLOW_COOKIE, path=service.FLOW_COOKIE_PATH)
    return response
