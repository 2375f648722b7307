"""The browser sign-in through the OpenID provider (authorization code + PKCE): pixmill through its TestClient, the
provider a real server on 127.0.0.1 reached with httpx, every redirect followed by hand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pixmill.app import create_app
from pixmill.db.models import User
from pixmill.identity import browser_sessions as sessions
from pixmill.sso import service as sso
from pixmill.sso.errors import SignInFailed
from tests.conftest import make_settings
from tests.identity.oidc_issuer import OidcIssuer


@pytest.fixture
def issuer() -> Iterator[OidcIssuer]:
    with OidcIssuer(client_secret="s3cret") as i:
        yield i


@pytest.fixture
def client(tmp_path: Path, issuer: OidcIssuer) -> Iterator[TestClient]:
    settings = make_settings(tmp_path, oidc_issuer=issuer.url, oidc_client_id="pixmill", oidc_client_secret="s3cret")
    with TestClient(create_app(settings), follow_redirects=False) as c:
        yield c


def _to_provider(client: TestClient, next_path: str) -> tuple[str, dict[str, list[str]]]:
    start = client.get("/api/v1/auth/sso/login", params={"next": next_path})
    assert start.status_code == 302, start.text
    location = start.headers["location"]
    assert "httponly" in start.headers["set-cookie"].lower()
    return location, parse_qs(urlsplit(location).query)


def _provider_answer(location: str) -> str:
    """The browser at the provider: it approves at once and sends the browser back with a code."""
    answer = httpx.get(location, follow_redirects=False)
    assert answer.status_code == 302
    return answer.headers["location"]


def _sign_in(client: TestClient, next_path: str = "/") -> httpx.Response:
    location, _ = _to_provider(client, next_path)
    back = urlsplit(_provider_answer(location))
    return client.get(f"{back.path}?{back.query}")


def test_the_browser_flow_ends_signed_in_with_the_providers_roles_and_back_at_next(
    client: TestClient, issuer: OidcIssuer
) -> None:
    issuer.next_roles = ["admin", "default-roles-pixmill"]
    issuer.next_user = {"sub": "dora", "email": "dora@example.org", "email_verified": True, "name": "Dora"}
    location, query = _to_provider(client, "/library/albums?sort=new")
    assert location.startswith(f"{issuer.url}/authorize?")
    assert query["client_id"] == ["pixmill"] and query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == ["http://testserver/api/v1/auth/sso/callback"]
    assert set(query["scope"][0].split()) == {"openid", "email", "profile"} and query["state"] and query["nonce"]
    back = urlsplit(_provider_answer(location))
    done = client.get(f"{back.path}?{back.query}")
    assert done.status_code == 302, done.text
    assert done.headers["location"] == "/library/albums?sort=new"
    cookie = client.cookies.get(sessions.SESSION_COOKIE)
    assert cookie is not None and client.cookies.get(sessions.CSRF_COOKIE)
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    found = sessions.resolve(ctx, cookie)
    assert found is not None
    principal, _ = found
    assert principal.via == "sso" and principal.is_admin and principal.email == "dora@example.org"
    with ctx.session() as s:
        user = s.scalars(select(User)).one()
        assert (user.sso_subject, user.display_name, user.roles) == ("dora", "Dora", ["admin", "user"])
    # the code was used once: the provider refuses it again, and so does pixmill (with the flow cookie gone)
    again = client.get(f"{back.path}?{back.query}")
    assert again.status_code == 400 and "no sign-in is in progress" in again.json()["detail"]


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"])
def test_next_is_only_ever_a_path_on_this_site(client: TestClient, target: str) -> None:
    done = _sign_in(client, target)
    assert done.status_code == 302 and done.headers["location"] == "/"


def test_a_tampered_or_missing_state_is_a_400(client: TestClient, issuer: OidcIssuer) -> None:
    location, _ = _to_provider(client, "/")
    back = urlsplit(_provider_answer(location))
    params = {k: v[0] for k, v in parse_qs(back.query).items()}
    tampered = client.get(back.path, params={**params, "state": params["state"][:-2] + "xx"})
    assert tampered.status_code == 400 and "state does not match" in tampered.json()["detail"]
    missing = client.get(back.path, params={"code": params["code"]})
    assert missing.status_code == 400 and "state does not match" in missing.json()["detail"]
    assert client.cookies.get(sessions.SESSION_COOKIE) is None
    # an altered flow cookie (its state swapped for one the attacker knows) fails its signature
    flow = client.cookies.get(sso.FLOW_COOKIE)
    assert flow is not None
    client.cookies.set(sso.FLOW_COOKIE, "e30" + flow[3:], path=sso.FLOW_COOKIE_PATH)
    altered = client.get(back.path, params=params)
    assert altered.status_code == 400 and "altered" in altered.json()["detail"]


def test_an_error_from_the_provider_or_a_refused_exchange_is_a_400(client: TestClient, issuer: OidcIssuer) -> None:
    _, query = _to_provider(client, "/")
    state = query["state"][0]
    denied = client.get(
        "/api/v1/auth/sso/callback", params={"state": state, "error": "access_denied", "error_description": "no"}
    )
    assert denied.status_code == 400 and "refused the sign-in: access_denied (no)" in denied.json()["detail"]
    wrong_code = client.get("/api/v1/auth/sso/callback", params={"state": state, "code": "made-up"})
    assert wrong_code.status_code == 400 and "would not exchange the code" in wrong_code.json()["detail"]
    assert "unknown or used code" in wrong_code.json()["detail"]


def test_a_provider_that_cannot_be_reached_is_a_503(tmp_path: Path) -> None:
    with OidcIssuer() as gone:
        url = gone.url
    settings = make_settings(tmp_path, oidc_issuer=url, oidc_client_id="pixmill")
    with TestClient(create_app(settings), follow_redirects=False) as c:
        response = c.get("/api/v1/auth/sso/login")
    assert response.status_code == 503 and "cannot be reached" in response.json()["detail"]


def test_without_sso_configured_the_routes_say_so(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path)), follow_redirects=False) as c:
        for path in ("/api/v1/auth/sso/login", "/api/v1/auth/sso/callback?code=x&state=y"):
            response = c.get(path)
            assert response.status_code == 404 and "not configured" in response.json()["detail"]


def test_the_flow_cookie_is_signed_and_expires(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    flow = sso.Flow("st", "no", "ve", "/x", "http://h/cb", expires=1000)
    packed = sso.pack(settings, flow)
    assert sso.unpack(settings, packed, now=999) == flow
    other: Any = make_settings(tmp_path, secret_key="another")
    for bad, now, why in ((packed, 1001, "too long"), (packed + "x", 0, "altered"), (None, 0, "no sign-in")):
        with pytest.raises(SignInFailed, match=why):
            sso.unpack(settings, bad, now=now)
    with pytest.raises(SignInFailed, match="altered"):
        sso.unpack(other, packed, now=0)
    assert sso.safe_next("/ok?q=1#top") == "/ok?q=1#top" and sso.safe_next(None) == "/"
