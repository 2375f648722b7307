"""The authorization-code flow with PKCE (S256): where to send the browser, and what its return proves.

What the flow must remember between the two requests (state, nonce, PKCE verifier, where to go next) travels in a
short-lived HttpOnly cookie, signed with the deployment's secret key, so no server-side row is needed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from pixmill.config import Settings
from pixmill.context import Context
from pixmill.identity import oidc
from pixmill.identity.errors import IdentityProviderUnavailable, Unauthenticated
from pixmill.sso.errors import SignInFailed, SsoNotConfigured
from pixmill.tokens import tokens_equal

FLOW_COOKIE = "pixmill_sso"
FLOW_COOKIE_PATH = "/api/v1/auth/sso"
FLOW_TTL_S = 600  # a sign-in must come back within ten minutes
CALLBACK_PATH = "/api/v1/auth/sso/callback"
SCOPE = "openid email profile"


@dataclass(frozen=True)
class Flow:
    """One sign-in in progress."""

    state: str
    nonce: str
    verifier: str  # the PKCE code verifier; the provider saw only its SHA-256
    next: str
    redirect_uri: str
    expires: int  # Unix time


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _mac(settings: Settings, payload: str) -> str:
    return _b64(hmac.new(settings.signing_key, b"pixmill-sso-flow." + payload.encode(), hashlib.sha256).digest())


def pack(settings: Settings, flow: Flow) -> str:
    """The flow as a cookie value: base64url JSON, a dot, its HMAC-SHA256 with the secret key."""
    payload = _b64(json.dumps(asdict(flow), separators=(",", ":")).encode())
    return f"{payload}.{_mac(settings, payload)}"


def unpack(settings: Settings, value: str | None, now: float | None = None) -> Flow:
    """The flow a cookie carries; SignInFailed when it is missing, altered or expired."""
    if not value:
        raise SignInFailed("no sign-in is in progress in this browser (its cookie is missing or expired); start again")
    payload, _, mac = value.partition(".")
    if not tokens_equal(_mac(settings, payload), mac):
        raise SignInFailed("the sign-in cookie has been altered; start again")
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        flow = Flow(**data)
    except (ValueError, TypeError) as exc:
        raise SignInFailed("the sign-in cookie cannot be read; start again") from exc
    if flow.expires < (now if now is not None else time.time()):
        raise SignInFailed("the sign-in took too long; start again")
    return flow


def safe_next(target: str | None) -> str:
    """`target` when it is a path on this site, else `/` (never an open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 0x20 or c == "\\" for c in target):
        return "/"
    return target


def _verifier(ctx: Context) -> oidc.OidcVerifier:
    if not ctx.settings.oidc_enabled:
        raise SsoNotConfigured()
    return oidc.verifier(ctx.settings)


def begin(ctx: Context, base_url: str, next_path: str | None) -> tuple[str, Flow]:
    """The provider's authorization URL to send the browser to, and the flow to keep in its cookie."""
    settings = ctx.settings
    v = _verifier(ctx)
    flow = Flow(
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        verifier=secrets.token_urlsafe(48),  # 64 characters: within PKCE's 43 to 128
        next=safe_next(next_path),
        redirect_uri=settings.oidc_redirect_url or base_url.rstrip("/") + CALLBACK_PATH,
        expires=int(time.time()) + FLOW_TTL_S,
    )
    query = {
        "response_type": "code",
        "client_id": settings.oidc_client_id,
        "redirect_uri": flow.redirect_uri,
        "scope": SCOPE,
        "state": flow.state,
        "nonce": flow.nonce,
        "code_challenge": _b64(hashlib.sha256(flow.verifier.encode()).digest()),
        "code_challenge_method": "S256",
    }
    endpoint = v.endpoint("authorization_endpoint")
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}", flow


def _exchange(ctx: Context, v: oidc.OidcVerifier, flow: Flow, code: str) -> dict[str, Any]:
    settings = ctx.settings
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": flow.redirect_uri,
        "client_id": settings.oidc_client_id or "",
        "code_verifier": flow.verifier,
    }
    auth = (settings.oidc_client_id or "", settings.oidc_client_secret) if settings.oidc_client_secret else None
    url = v.endpoint("token_endpoint")
    try:
        response = httpx.post(url, data=form, auth=auth, timeout=oidc.HTTP_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise IdentityProviderUnavailable(f"the identity provider's token endpoint ({url}) cannot be reached") from exc
    if response.status_code >= 500:
        raise IdentityProviderUnavailable(f"the identity provider's token endpoint answered {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body, dict):
        reason = body.get("error_description") or body.get("error") if isinstance(body, dict) else None
        raise SignInFailed(f"the identity provider would not exchange the code ({response.status_code}: {reason})")
    if not isinstance(body.get("id_token"), str):
        raise SignInFailed("the identity provider's token response has no id_token")
    return body


def finish(
    ctx: Context,
    flow_cookie: str | None,
    code: str | None,
    state: str | None,
    error: str | None = None,
    description: str | None = None,
) -> tuple[str, str]:
    """Check the provider's answer against the flow, exchange the code, verify the ID token and find or create the
    user: (the user's id, the path to go to next)."""
    v = _verifier(ctx)
    flow = unpack(ctx.settings, flow_cookie)
    if not state or not tokens_equal(flow.state, state):
        raise SignInFailed("the sign-in state does not match this browser's; start again")
    if error:
        why = f"{error} ({description})" if description else error
        raise SignInFailed(f"the identity provider refused the sign-in: {why}")
    if not code:
        raise SignInFailed("the identity provider sent no authorization code")
    tokens = _exchange(ctx, v, flow, code)
    client_id = ctx.settings.oidc_client_id or ""
    try:
        claims = v.verify(tokens["id_token"], audience=client_id, nonce=flow.nonce)
    except Unauthenticated as exc:
        raise SignInFailed(f"the identity provider's ID token is not valid: {exc}") from None
    # Roles are usually in the access token (Keycloak's realm roles are): read them there when it is a JWT of this
    # provider for us about the same user, else in the ID token.
    role_claims: dict[str, Any] = claims
    access = tokens.get("access_token")
    if isinstance(access, str) and access.count(".") == 2:
        try:
            access_claims = v.verify(access)
        except Unauthenticated:
            access_claims = {}
        if access_claims.get("sub") == claims["sub"]:
            role_claims = access_claims
    roles = oidc.roles_from_claims(role_claims, ctx.settings.oidc_roles_claim)
    user = oidc.user_from_claims(ctx, v.issuer, claims, roles)
    return user.id, flow.next
