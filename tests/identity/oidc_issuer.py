"""A small OpenID Connect provider on 127.0.0.1, in a thread (a real HTTP server, http.server): discovery, JWKS,
an authorization endpoint that approves at once and redirects back with a code, and a token endpoint that checks
the PKCE verifier and answers RS256 ID and access tokens. Its signing key can be rotated; it counts the requests
each path receives."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

REALM = "/realms/pixmill"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class OidcIssuer:
    def __init__(self, client_id: str = "pixmill", client_secret: str | None = None) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.hits: Counter[str] = Counter()
        self.keys: dict[str, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey] = {}
        self.kid = self.rotate()
        # Who the authorization endpoint signs in next: the claims of the user it "approves".
        self.next_user: dict[str, Any] = {"sub": "alice", "email": "alice@example.org", "email_verified": True}
        self.next_roles: list[str] = []
        self.codes: dict[str, dict[str, Any]] = {}
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                issuer.hits[path] += 1
                if path == f"{REALM}/.well-known/openid-configuration":
                    self._json(200, issuer.discovery())
                elif path == f"{REALM}/jwks":
                    self._json(200, issuer.jwks())
                elif path == f"{REALM}/authorize":
                    self._redirect(issuer.authorize(dict(parse_qsl(query))))
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                issuer.hits[self.path] += 1
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                if self.path != f"{REALM}/token":
                    self._json(404, {"error": "not_found"})
                    return
                status, answer = issuer.exchange(dict(parse_qsl(body)), self.headers.get("authorization"))
                self._json(status, answer)

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _redirect(self, location: str) -> None:
                self.send_response(302)
                self.send_header("location", location)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The issuer identifier, as tokens name it (Keycloak's shape: a realm under the server)."""
        return f"http://127.0.0.1:{self.server.server_address[1]}{REALM}"

    def __enter__(self) -> OidcIssuer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- documents

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def jwks(self) -> dict[str, Any]:
        out = []
        for kid, key in self.keys.items():
            if isinstance(key, rsa.RSAPrivateKey):
                jwk, alg = json.loads(RSAAlgorithm.to_jwk(key.public_key())), "RS256"
            else:
                jwk, alg = json.loads(ECAlgorithm.to_jwk(key.public_key())), "ES256"
            out.append({**jwk, "kid": kid, "alg": alg, "use": "sig"})
        return {"keys": out}

    def rotate(self, keep_old: bool = True, curve: bool = False) -> str:
        """A new signing key (RSA, or P-256 for ES256 when `curve`), used from now on; the old one stays
        published unless keep_old is False."""
        kid = f"key-{len(self.keys) + 1}-{secrets.token_hex(4)}"
        if not keep_old:
            self.keys.clear()
        self.keys[kid] = (
            ec.generate_private_key(ec.SECP256R1())
            if curve
            else rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )
        self.kid = kid
        return kid

    # -- tokens

    def token(
        self,
        sub: str = "alice",
        roles: list[str] | None = None,
        aud: str | list[str] | None = None,
        expires_in: float = 300,
        kid: str | None = None,
        **claims: Any,
    ) -> str:
        """An access token (RS256, or ES256 with a curve key), Keycloak-shaped (realm roles under
        realm_access.roles)."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.url,
            "sub": sub,
            "aud": aud if aud is not None else self.client_id,
            "iat": now,
            "exp": now + int(expires_in),
            "realm_access": {"roles": roles or []},
            **claims,
        }
        payload = {k: v for k, v in payload.items() if v is not None}
        kid = kid or self.kid
        key = self.keys.get(kid) or self.keys[self.kid]
        alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
        return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})

    def public_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return (
            self.keys[self.kid]
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )

    # -- the authorization-code flow

    def authorize(self, query: dict[str, str]) -> str:
        assert query.get("response_type") == "code" and query.get("client_id") == self.client_id, query
        assert query.get("code_challenge_method") == "S256" and "openid" in query.get("scope", "").split(), query
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "redirect_uri": query["redirect_uri"],
            "challenge": query["code_challenge"],
            "nonce": query["nonce"],
            "user": dict(self.next_user),
            "roles": list(self.next_roles),
        }
        split = urlsplit(query["redirect_uri"])
        assert not split.query
        return f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"

    def exchange(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, Any]]:
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if form.get("grant_type") != "authorization_code" or grant is None:
            return 400, {"error": "invalid_grant", "error_description": "unknown or used code"}
        if self.client_secret is not None:
            expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            if authorization != expected:
                return 401, {"error": "invalid_client"}
        if form.get("client_id") != self.client_id or form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant", "error_description": "client or redirect_uri mismatch"}
        verifier = form.get("code_verifier", "")
        if b64(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        user = grant["user"]
        id_token = self.token(
            sub=user["sub"],
            nonce=grant["nonce"],
            email=user.get("email"),
            email_verified=user.get("email_verified"),
            name=user.get("name"),
            realm_access=None,
        )
        access = self.token(sub=user["sub"], roles=grant["roles"])
        return 200, {"access_token": access, "id_token": id_token, "token_type": "Bearer", "expires_in": 300}
