"""Bearer tokens of an OpenID Connect provider (a real one on 127.0.0.1): verified against its published keys,
mapped onto pixmill's roles, their user created once; every bad token is a 401 saying why."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from pixmill.api.deps import Caller
from pixmill.app import create_app
from pixmill.db.models import AuditEvent, User
from pixmill.identity import oidc, principal_cache, service
from pixmill.identity.errors import IdentityProviderUnavailable, Unauthenticated
from tests.conftest import make_settings
from tests.identity.oidc_issuer import OidcIssuer, b64


@pytest.fixture
def issuer() -> Iterator[OidcIssuer]:
    with OidcIssuer() as i:
        yield i


def _client(tmp_path: Path, issuer_url: str, **overrides: Any) -> TestClient:
    """pixmill with single sign-on on, plus one route that answers who is calling (through current_principal)."""
    app = create_app(make_settings(tmp_path, oidc_issuer=issuer_url, oidc_client_id="pixmill", **overrides))

    @app.get("/test/caller")
    def caller(principal: Caller) -> dict[str, Any]:
        return {
            "via": principal.via,
            "user_id": principal.user_id,
            "roles": sorted(principal.roles),
            "scopes": sorted(principal.scopes),
            "email": principal.email,
        }

    return TestClient(app)


@pytest.fixture
def client(tmp_path: Path, issuer: OidcIssuer) -> Iterator[TestClient]:
    with _client(tmp_path, issuer.url) as c:
        yield c


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_valid_token_maps_its_roles_and_creates_its_user_once(client: TestClient, issuer: OidcIssuer) -> None:
    token = issuer.token(sub="alice", roles=["staff", "offline_access", "uma_authorization"], email="Alice@Example.org")
    first = client.get("/test/caller", headers=_bearer(token))
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["via"] == "sso" and body["roles"] == ["staff", "user"] and body["email"] == "alice@example.org"
    assert "orders" in body["scopes"] and "admin" not in body["scopes"]
    again = client.get("/test/caller", headers=_bearer(issuer.token(sub="alice", roles=["admin"])))
    assert again.json()["user_id"] == body["user_id"] and again.json()["roles"] == ["admin", "user"]
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    with ctx.session() as s:
        users = s.scalars(select(User)).all()
        assert len(users) == 1 and users[0].sso_subject == "alice" and users[0].sso_issuer == issuer.url
        assert users[0].roles == ["admin", "user"] and users[0].password_hash is None  # the provider decides
        events = s.scalars(select(AuditEvent)).all()
        assert [e.event for e in events] == ["sso_login"] and events[0].user_id == users[0].id
    # without an email claim the address is made from the subject and the issuer's host
    bob = client.get("/test/caller", headers=_bearer(issuer.token(sub="bob", roles=["nobody"]))).json()
    assert bob["email"] == "bob@127.0.0.1" and bob["roles"] == ["user"]
    assert issuer.hits["/realms/pixmill/jwks"] == 1  # the keys were fetched once for all these tokens


def _forged(header: dict[str, Any], payload: dict[str, Any], sign: Any = None) -> str:
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())
    return head + "." + (b64(sign(head.encode())) if sign else "")


def test_bad_tokens_are_refused_each_with_its_reason(client: TestClient, issuer: OidcIssuer) -> None:
    now = int(time.time())
    claims = {"iss": issuer.url, "sub": "mallory", "aud": "pixmill", "iat": now, "exp": now + 300}
    pem = issuer.public_pem()
    cases = {
        "has expired": issuer.token(expires_in=-120),  # beyond the 30 s leeway
        "another audience": issuer.token(aud="someone-else"),
        "another issuer": issuer.token(iss="http://127.0.0.1:1/realms/evil"),
        "does not publish": issuer.token(kid="no-such-key"),
        "'none' is not accepted": _forged({"alg": "none", "kid": issuer.kid}, claims),
        "'HS256' is not accepted": _forged(
            {"alg": "HS256", "kid": issuer.kid}, claims, lambda m: hmac.new(pem, m, hashlib.sha256).digest()
        ),
        "signature does not verify": issuer.token(sub="x").rsplit(".", 1)[0] + "." + issuer.token().rsplit(".", 1)[1],
        "lacks the 'sub' claim": issuer.token(sub=None),  # type: ignore[arg-type]
        "not valid yet": issuer.token(nbf=now + 600),
        "does not match its key": _forged({"alg": "ES256", "kid": issuer.kid}, claims, lambda m: b"x" * 64),
    }
    for reason, token in cases.items():
        response = client.get("/test/caller", headers=_bearer(token))
        assert response.status_code == 401, (reason, response.text)
        assert reason in response.json()["detail"], (reason, response.json())
    # a little skew is forgiven: expired 10 s ago is within the leeway
    assert client.get("/test/caller", headers=_bearer(issuer.token(expires_in=-10))).status_code == 200
    # an API key still goes to the API key check, a JWT-looking junk string to the verifier
    assert "API key" in client.get("/test/caller", headers=_bearer("pmk_x.y.z")).json()["detail"]
    assert "not a well-formed JWT" in client.get("/test/caller", headers=_bearer("a.b.c")).json()["detail"]


def test_es256_is_accepted_and_an_algorithm_off_the_list_is_not(client: TestClient, issuer: OidcIssuer) -> None:
    issuer.rotate(keep_old=False, curve=True)  # the provider signs with a P-256 key
    assert client.get("/test/caller", headers=_bearer(issuer.token(sub="eve"))).json()["via"] == "sso"
    now = int(time.time())
    claims = {"iss": issuer.url, "sub": "eve", "aud": "pixmill", "iat": now, "exp": now + 300}
    rs384 = _forged({"alg": "RS384", "kid": issuer.kid}, claims, lambda m: b"x" * 256)
    assert "'RS384' is not accepted" in client.get("/test/caller", headers=_bearer(rs384)).json()["detail"]


def test_a_rotated_key_is_fetched_and_unknown_kids_refetch_at_most_every_30_s(issuer: OidcIssuer) -> None:
    now = [1000.0]
    v = oidc.OidcVerifier(issuer.url, "pixmill", ("RS256", "ES256"), clock=lambda: now[0])
    jwks = "/realms/pixmill/jwks"
    assert v.verify(issuer.token(sub="a"))["sub"] == "a" and issuer.hits[jwks] == 1
    v.verify(issuer.token(sub="a"))
    assert issuer.hits[jwks] == 1  # cached
    issuer.rotate(keep_old=False)
    assert v.verify(issuer.token(sub="b"))["sub"] == "b" and issuer.hits[jwks] == 2  # the new kid: refetched
    for _ in range(5):  # junk kids within 30 s: refused without asking the provider again
        with pytest.raises(Unauthenticated, match="does not publish"):
            v.verify(issuer.token(kid="junk"))
    assert issuer.hits[jwks] == 2
    now[0] += 31
    with pytest.raises(Unauthenticated, match="does not publish"):
        v.verify(issuer.token(kid="junk"))
    assert issuer.hits[jwks] == 3  # one refetch after the 30 s
    now[0] += 600  # the TTL: the keys are fetched again even for a known kid
    v.verify(issuer.token())
    assert issuer.hits[jwks] == 4 and issuer.hits["/realms/pixmill/.well-known/openid-configuration"] == 1
    v.close()


def test_an_unreachable_provider_is_a_503_never_a_500(tmp_path: Path, issuer: OidcIssuer) -> None:
    token = issuer.token()
    issuer.__exit__()
    with _client(tmp_path, issuer.url) as c:
        response = c.get("/test/caller", headers=_bearer(token))
    assert response.status_code == 503, response.text
    assert "cannot be reached" in response.json()["detail"] and response.headers["retry-after"] == "10"
    with pytest.raises(IdentityProviderUnavailable):
        oidc.OidcVerifier(issuer.url, "pixmill", ("RS256",)).verify(token)


class _Counting(httpx.HTTPTransport):
    """httpx's own transport, counting the requests it sends (reached or not)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        return super().handle_request(request)


def test_cached_keys_outlive_a_provider_outage_and_it_is_retried_every_30_s(issuer: OidcIssuer) -> None:
    now, transport = [0.0], _Counting()
    v = oidc.OidcVerifier(issuer.url, "pixmill", ("RS256",), jwks_ttl_s=60, clock=lambda: now[0], transport=transport)
    v.verify(issuer.token())
    assert transport.sent == 2  # discovery and keys
    token = issuer.token(sub="later")
    issuer.__exit__()
    now[0] += 120  # the TTL has passed, the refresh fails: the keys we hold still verify
    assert v.verify(token)["sub"] == "later" and transport.sent == 3
    for _ in range(3):  # not a failing fetch per request while it is down
        v.verify(token)
    assert transport.sent == 3
    now[0] += 31
    v.verify(token)
    assert transport.sent == 4
    v.close()


def test_sso_is_off_unless_issuer_and_client_are_set_and_only_asymmetric_algorithms_are_allowed(
    tmp_path: Path, issuer: OidcIssuer
) -> None:
    with TestClient(create_app(make_settings(tmp_path, oidc_issuer=issuer.url))) as c:
        app = c.app
        assert not c.app.state.ctx.settings.oidc_enabled  # type: ignore[attr-defined]
    assert app is not None and issuer.hits.total() == 0
    for bad in ("HS256", "none", "RS256,HS512", ""):
        with pytest.raises(ValidationError, match="never none or HS"):
            make_settings(tmp_path, oidc_algorithms=bad)
    assert make_settings(tmp_path, oidc_algorithms=" RS256 , PS256").oidc_algorithm_list == ("RS256", "PS256")


def test_a_local_account_is_linked_only_when_the_provider_verified_the_address(
    client: TestClient, issuer: OidcIssuer
) -> None:
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    local = service.create_user(ctx, "carol@example.org", "correct horse battery")
    unverified = issuer.token(sub="carol-sso", email="carol@example.org", email_verified=False)
    refused = client.get("/test/caller", headers=_bearer(unverified))
    assert refused.status_code == 409 and "not linked" in refused.json()["detail"]
    verified = issuer.token(sub="carol-sso", email="carol@example.org", email_verified=True, roles=["staff"])
    linked = client.get("/test/caller", headers=_bearer(verified)).json()
    assert linked["user_id"] == local.id and linked["roles"] == ["staff", "user"]
    with ctx.session() as s:
        user = s.get(User, local.id)
        assert user is not None and (user.sso_issuer, user.sso_subject) == (issuer.url, "carol-sso")
        user.disabled = True
        s.commit()
    principal_cache.forget(user_id=local.id)  # changed behind the services' back, as another process would
    assert client.get("/test/caller", headers=_bearer(verified)).status_code == 401


def test_the_readme_lists_every_single_sign_on_setting() -> None:
    from pixmill.config import Settings

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names = [n for n in Settings.model_fields if n.startswith("oidc_")]
    assert len(names) == 9
    missing = [n for n in names if f"`PIXMILL_{n.upper()}`" not in table]
    assert not missing, missing


@pytest.mark.postgres
def test_sso_users_on_postgresql(tmp_path: Path, issuer: OidcIssuer, postgres_url: str) -> None:
    with _client(tmp_path, issuer.url, database_url=postgres_url) as c:
        first = c.get("/test/caller", headers=_bearer(issuer.token(sub="pg", roles=["staff"]))).json()
        second = c.get("/test/caller", headers=_bearer(issuer.token(sub="pg", roles=[]))).json()
        assert first["user_id"] == second["user_id"]
        assert (first["roles"], second["roles"]) == (["staff", "user"], ["user"])
        with c.app.state.ctx.session() as s:  # type: ignore[attr-defined]
            assert s.scalars(select(User)).one().roles == ["user"]
