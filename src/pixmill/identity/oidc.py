"""Single sign-on tokens from an OpenID Connect provider: verify them, and find or create the user they name.

The provider's discovery document and signing keys (JWKS) are fetched with httpx and cached; a token naming a key
id we do not hold makes us fetch the keys again (that is how a rotated key is picked up), at most once every
`REFETCH_EVERY_S`, so a stream of junk tokens cannot hammer the provider. Only asymmetric algorithms from the
allow-list are accepted, and the key's own `alg` and type must match the token's header.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from jwt import PyJWK
from sqlalchemy.exc import IntegrityError

from pixmill.config import Settings
from pixmill.context import Context
from pixmill.db.models import User
from pixmill.identity import audit, principal_cache, repository
from pixmill.identity.errors import IdentityConflict, IdentityProviderUnavailable, Unauthenticated
from pixmill.identity.principal import Principal, for_user
from pixmill.identity.service import new_id, normalize_email

log = logging.getLogger("pixmill.identity")

REFETCH_EVERY_S = 30.0  # at most one key refetch for an unknown `kid` this often
HTTP_TIMEOUT_S = 5.0
SSO_ROLES = frozenset({"staff", "admin"})  # provider roles that mean something here; every SSO user is `user`
# The key type each algorithm family needs (a key's `kty`).
_KTY = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


class OidcVerifier:
    """Verifies tokens of one issuer. Thread-safe; one per configuration (see `verifier`)."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        algorithms: tuple[str, ...],
        leeway_s: float = 30.0,
        jwks_ttl_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.issuer, self.audience, self.algorithms = issuer, audience, algorithms
        self.leeway_s, self.jwks_ttl_s, self._clock = leeway_s, jwks_ttl_s, clock
        self._http = httpx.Client(timeout=HTTP_TIMEOUT_S, transport=transport, follow_redirects=False)
        self._lock = threading.RLock()
        self._config: dict[str, Any] | None = None
        self._keys: dict[str, dict[str, Any]] = {}  # kid → JWK
        self._parsed: dict[tuple[str, str], PyJWK] = {}  # (kid, alg) → the key, parsed once
        self._fetched_at: float | None = None
        self._refetched_at: float | None = None  # the last refetch an unknown kid caused

    # -- the provider's documents

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = self._http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise IdentityProviderUnavailable(f"the identity provider's {what} ({url}) cannot be reached") from exc
        if response.status_code != 200:
            raise IdentityProviderUnavailable(f"the identity provider's {what} ({url}) answered {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise IdentityProviderUnavailable(f"the identity provider's {what} ({url}) is not JSON") from exc
        if not isinstance(body, dict):
            raise IdentityProviderUnavailable(f"the identity provider's {what} ({url}) is not a JSON object")
        return body

    def configuration(self) -> dict[str, Any]:
        """The discovery document (`{issuer}/.well-known/openid-configuration`), fetched once."""
        with self._lock:
            if self._config is None:
                url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
                config = self._get_json(url, "discovery document")
                if config.get("issuer") != self.issuer:
                    raise IdentityProviderUnavailable(
                        f"the discovery document names issuer {config.get('issuer')!r}, not {self.issuer!r}"
                    )
                if not isinstance(config.get("jwks_uri"), str):
                    raise IdentityProviderUnavailable("the discovery document has no jwks_uri")
                self._config = config
            return self._config

    def endpoint(self, name: str) -> str:
        """An endpoint of the discovery document (`authorization_endpoint`, `token_endpoint`, …)."""
        value = self.configuration().get(name)
        if not isinstance(value, str):
            raise IdentityProviderUnavailable(f"the discovery document has no {name}")
        return value

    def _fetch_keys(self) -> None:
        jwks = self._get_json(self.endpoint("jwks_uri"), "key set (JWKS)")
        keys = jwks.get("keys")
        if not isinstance(keys, list):
            raise IdentityProviderUnavailable("the identity provider's key set has no `keys` list")
        self._keys = {str(k.get("kid", "")): k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"}
        self._parsed = {}
        self._fetched_at = self._clock()

    def _jwk(self, kid: str) -> dict[str, Any] | None:
        """The provider's key `kid`: from the cache while fresh, else fetched; an unknown kid fetches once more
        unless the last such refetch is under REFETCH_EVERY_S old."""
        self.configuration()
        with self._lock:
            now, fetched = self._clock(), False
            if self._fetched_at is None or now - self._fetched_at >= self.jwks_ttl_s:
                try:
                    self._fetch_keys()
                    fetched = True
                except IdentityProviderUnavailable:
                    if not self._keys:
                        raise
                    # the keys we hold stay in use; the next try is in REFETCH_EVERY_S, not on every request
                    self._fetched_at = now - self.jwks_ttl_s + REFETCH_EVERY_S
                    log.warning("JWKS refresh failed; the cached keys stay in use", exc_info=True)
            limited = self._refetched_at is not None and now - self._refetched_at < REFETCH_EVERY_S
            if kid not in self._keys and not fetched and not limited:
                self._refetched_at = now
                self._fetch_keys()
            return self._keys.get(kid)

    # -- tokens

    def verify(self, token: str, audience: str | None = None, nonce: str | None = None) -> dict[str, Any]:
        """The claims of a valid token of this issuer for `audience` (default: the configured one).

        Raises Unauthenticated saying what is wrong, or IdentityProviderUnavailable."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"the bearer token is not a well-formed JWT: {exc}") from None
        alg = header.get("alg")
        if alg not in self.algorithms:
            accepted = ", ".join(self.algorithms)
            raise Unauthenticated(f"the token's algorithm {alg!r} is not accepted (accepted: {accepted})")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise Unauthenticated("the token names no signing key (kid)")
        jwk = self._jwk(kid)
        if jwk is None:
            raise Unauthenticated(f"the token is signed with a key the provider does not publish (kid {kid!r})")
        if jwk.get("alg", alg) != alg or jwk.get("kty") != _KTY.get(alg[:2]):
            raise Unauthenticated(f"the token's algorithm {alg} does not match its key {kid!r}")
        key = self._parsed.get((kid, alg))
        if key is None:
            try:
                key = self._parsed[(kid, alg)] = PyJWK(jwk, algorithm=alg)
            except jwt.PyJWKError as exc:
                raise Unauthenticated(f"the provider's key {kid!r} cannot be used: {exc}") from None
        expected_aud = audience or self.audience
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=expected_aud,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iat", "iss", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("the token is not valid yet (nbf or iat in the future)") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated(f"the token is for another audience (aud must name {expected_aud!r})") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated(f"the token was issued by another issuer (expected {self.issuer!r})") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated(f"the token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("the token's signature does not verify") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"the token is not valid: {exc}") from None
        if not claims.get("sub"):
            raise Unauthenticated("the token's sub claim is empty")
        if nonce is not None and claims.get("nonce") != nonce:
            raise Unauthenticated("the ID token's nonce does not match this sign-in")
        return claims

    def close(self) -> None:
        self._http.close()


_verifiers: dict[tuple[Any, ...], OidcVerifier] = {}
_verifiers_lock = threading.Lock()


def verifier(settings: Settings) -> OidcVerifier:
    """The verifier of the configured provider, shared by every request (so its caches are)."""
    if not (settings.oidc_issuer and settings.oidc_client_id):
        raise Unauthenticated("single sign-on is not configured")
    audience = settings.oidc_audience or settings.oidc_client_id
    algorithms, leeway, ttl = settings.oidc_algorithm_list, settings.oidc_leeway_s, settings.oidc_jwks_ttl_s
    key = (settings.oidc_issuer, audience, algorithms, leeway, ttl)
    with _verifiers_lock:
        found = _verifiers.get(key)
        if found is None:
            found = _verifiers[key] = OidcVerifier(settings.oidc_issuer, audience, algorithms, leeway, ttl)
        return found


def roles_from_claims(claims: Mapping[str, Any], path: str) -> list[str]:
    """pixmill's roles for the claims: `user`, plus `staff`/`admin` where the claim at the dotted `path` lists
    them (anything else there is ignored)."""
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    names = value.split() if isinstance(value, str) else value if isinstance(value, list) else []
    return sorted({str(n) for n in names if n in SSO_ROLES} | {"user"})


def _email_of(claims: Mapping[str, Any], issuer: str) -> str:
    email = claims.get("email")
    if isinstance(email, str) and email.strip():
        return normalize_email(email)
    return normalize_email(f"{claims['sub']}@{urlsplit(issuer).hostname or 'sso'}")


def user_from_claims(ctx: Context, issuer: str, claims: Mapping[str, Any], roles: list[str]) -> User:
    """The account of the token's (issuer, subject), created on first sight (or linked to the local account with
    the same e-mail, when the provider says the address is verified). Its roles become the token's: the provider
    is authoritative for its users."""
    subject = str(claims["sub"])
    for attempt in range(2):
        try:
            return _find_or_create(ctx, issuer, subject, claims, roles)
        except IntegrityError:  # another request created the same user at the same moment: read theirs
            if attempt:
                raise
    raise AssertionError("unreachable")


def _find_or_create(ctx: Context, issuer: str, subject: str, claims: Mapping[str, Any], roles: list[str]) -> User:
    with ctx.session() as s:
        user = repository.user_by_sso(s, issuer, subject)
        if user is None:
            email = _email_of(claims, issuer)
            user = repository.user_by_email(s, email)
            if user is not None:
                if user.sso_issuer is not None:
                    raise IdentityConflict(f"the account {email} is linked to another single sign-on identity")
                if claims.get("email_verified") is not True:
                    raise IdentityConflict(
                        f"an account with e-mail {email} exists already, and the identity provider does not say the "
                        "address is verified, so it is not linked; sign in with its password"
                    )
                user.sso_issuer, user.sso_subject = issuer, subject
                audit.record(s, "sso_login", user_id=user.id, issuer=issuer, linked=True)
            else:
                name = claims.get("name") or claims.get("preferred_username") or email.split("@", 1)[0]
                user = User(
                    id=new_id(),
                    email=email,
                    display_name=str(name).strip()[:200],
                    password_hash=None,
                    roles=roles,
                    sso_issuer=issuer,
                    sso_subject=subject,
                    disabled=False,
                )
                repository.add(s, user)
                audit.record(s, "sso_login", user_id=user.id, issuer=issuer, created=True)
        if user.disabled:
            raise Unauthenticated("this account is disabled")
        if sorted(user.roles) != roles:
            user.roles = roles
        if s.new or s.dirty:  # the usual request (a known user, the same roles) only reads
            s.commit()
        s.expunge(user)
        return user


def principal_from_bearer_jwt(ctx: Context, token: str) -> Principal:
    """The principal a provider's bearer access token stands for: its user (created on first sight), with the
    scopes of the roles the token carries."""
    if (known := principal_cache.get(token)) is not None:
        return known
    settings = ctx.settings
    v = verifier(settings)
    claims = v.verify(token)
    roles = roles_from_claims(claims, settings.oidc_roles_claim)
    user = user_from_claims(ctx, v.issuer, claims, roles)
    principal = for_user(user.id, frozenset(roles), via="sso", email=user.email)
    expires = datetime.fromtimestamp(int(claims["exp"]), UTC) if "exp" in claims else None
    principal_cache.remember(token, principal, settings.auth_cache_s, expires)
    return principal
