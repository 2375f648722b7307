"""Account routes: register, sign in and out, who am I, invites (admin), and the caller's API keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from pixmill.accounts import service
from pixmill.accounts.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    InviteIn,
    InviteOut,
    LoginIn,
    Me,
    PasswordResetConfirm,
    PasswordResetIn,
    RegisterIn,
    SignedIn,
)
from pixmill.api.deps import Caller, Ctx, require_scope
from pixmill.api.routing import BoundedJsonRoute
from pixmill.db.models import ApiKey, User
from pixmill.identity import browser_sessions as sessions
from pixmill.identity import recovery

router = APIRouter(prefix="/api/v1", tags=["accounts"], route_class=BoundedJsonRoute)

_UNAUTHENTICATED: dict[int | str, dict[str, Any]] = {401: {"description": "Not signed in, or the API key is not valid"}}
_CSRF: dict[int | str, dict[str, Any]] = {
    403: {"description": "A signed-in browser request without the X-CSRF-Token header"}
}


def _address(request: Request) -> str | None:
    return request.client.host[:64] if request.client else None


def _user_out(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "roles": list(user.roles),
        "created_at": user.created_at,
    }


def _key_out(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": list(key.scopes),
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "expires_at": key.expires_at,
    }


def _signed_in(ctx: Ctx, request: Request, response: Response, signed: service.SignIn) -> SignedIn:
    # Secure when the client reached us on https (behind a proxy: uvicorn's X-Forwarded-Proto from a trusted one)
    secure = request.url.scheme == "https"
    sessions.set_cookies(response, signed.token, signed.csrf, secure=secure, ttl=sessions.ttl_of(ctx))
    return SignedIn(**_user_out(signed.user), csrf_token=signed.csrf)


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    summary="Register an account and sign it in (PIXMILL_REGISTRATION: open, invite or off)",
    responses={
        403: {"description": "Registration is off, or needs a valid invite for this e-mail"},
        409: {"description": "An account with this e-mail exists"},
        422: {"description": "The e-mail or the password is not acceptable"},
    },
)
def register(ctx: Ctx, request: Request, response: Response, body: RegisterIn) -> SignedIn:
    signed = service.register(ctx, body.email, body.password, body.display_name, body.invite, _address(request))
    return _signed_in(ctx, request, response, signed)


@router.post(
    "/auth/login",
    summary="Sign in with e-mail and password: sets the session and CSRF cookies",
    responses={
        401: {"description": "The e-mail or the password is wrong (one answer for both)"},
        429: {
            "description": "Too many failed sign-ins to the account or from the address",
            "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
        },
    },
)
def login(ctx: Ctx, request: Request, response: Response, body: LoginIn) -> SignedIn:
    signed = service.login(ctx, body.email, body.password, _address(request))
    return _signed_in(ctx, request, response, signed)


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Sign out: ends the browser session and clears its cookies",
    responses={**_UNAUTHENTICATED, **_CSRF},
)
def logout(ctx: Ctx, request: Request, caller: Caller) -> Response:
    service.logout(ctx, request.cookies.get(sessions.SESSION_COOKIE), caller, _address(request))
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    sessions.clear_cookies(response)
    return response


@router.get("/me", summary="Who is calling: the account, its roles and scopes", responses=_UNAUTHENTICATED)
def me(ctx: Ctx, caller: Caller) -> Me:
    user = service.me(ctx, caller)
    return Me(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        roles=sorted(caller.roles),
        scopes=sorted(caller.scopes),
        via=caller.via,
    )


@router.post(
    "/auth/invites",
    status_code=status.HTTP_201_CREATED,
    dependencies=[require_scope("admin")],
    summary="Invite an e-mail address to register (admin, with the admin scope; valid 7 days)",
    responses={**_UNAUTHENTICATED, 403: {"description": "Not an admin, or no X-CSRF-Token"}},
)
def invite(ctx: Ctx, body: InviteIn) -> InviteOut:
    email, token, expires_at = service.mint_invite(ctx, body.email)
    return InviteOut(email=email, invite=token, expires_at=expires_at)


@router.post(
    "/api-keys",
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key of your own; the key is shown once",
    responses={
        **_UNAUTHENTICATED,
        403: {"description": "An API key without the admin scope, or no X-CSRF-Token"},
        422: {"description": "A scope that does not exist or that your roles do not allow, or a past expiry"},
    },
)
def create_api_key(ctx: Ctx, request: Request, caller: Caller, body: ApiKeyIn) -> ApiKeyCreated:
    key, token = service.create_key(ctx, caller, body.name, body.scopes, body.expires_at, _address(request))
    return ApiKeyCreated(**_key_out(key), key=token)


@router.get("/api-keys", summary="Your API keys (never the keys themselves)", responses=_UNAUTHENTICATED)
def list_api_keys(ctx: Ctx, caller: Caller) -> list[ApiKeyOut]:
    return [ApiKeyOut(**_key_out(k)) for k in service.list_keys(ctx, caller)]


@router.delete(
    "/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Revoke one of your API keys (an admin: anyone's)",
    responses={**_UNAUTHENTICATED, **_CSRF, 404: {"description": "No such key of yours"}},
)
def revoke_api_key(ctx: Ctx, request: Request, caller: Caller, key_id: str) -> Response:
    service.revoke_key(ctx, caller, key_id, _address(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/auth/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    summary="E-mail a single-use link to set a new password (the same answer whether the address has an account)",
    responses={
        404: {"description": "Password reset by e-mail is off: no mail server is configured (PIXMILL_SMTP_URL)"},
        503: {"description": "The mail server did not take the message"},
    },
)
def password_reset(ctx: Ctx, request: Request, body: PasswordResetIn) -> dict[str, str]:
    link = str(request.base_url).rstrip("/") + "/reset-password"  # the web app's page, which posts the token back
    recovery.request_reset(ctx, body.email, link, _address(request))
    return {"detail": "if the address has an account, a link to set a new password is on its way"}


@router.post(
    "/auth/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with the link's token (works once; signs every browser of the account out)",
    responses={422: {"description": "The token is invalid, expired or used, or the password is not acceptable"}},
)
def password_reset_confirm(ctx: Ctx, request: Request, body: PasswordResetConfirm) -> Response:
    recovery.confirm_reset(ctx, body.token, body.password, _address(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
