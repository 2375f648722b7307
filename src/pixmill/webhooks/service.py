"""Webhook URL checks (no requests into private networks unless allowed), a circuit breaker per target host, and
signed delivery with retries to the address that was checked."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpcore
import httpx
import pybreaker

from pixmill.errors import PixmillError
from pixmill.metrics.instruments import WEBHOOK_CIRCUIT_TRANSITIONS, WEBHOOK_DELIVERIES

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger("pixmill.webhooks")

SIGNATURE_HEADER = "X-Pixmill-Signature"
MAX_URL_LENGTH = 2048

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 ranges that carry an IPv4 address the packet ends up at. NAT64 (RFC 6052) and 6to4 are judged by that
# IPv4 address: a DNS64 resolver answers 64:ff9b::/96 for every IPv4-only host, so refusing the range would
# refuse every webhook on an IPv6-only network. The local-use NAT64 range (RFC 8215) and the deprecated
# IPv4-compatible form (RFC 4291) have no public use and are refused whole; Teredo is refused whole too.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
TEREDO = ipaddress.IPv6Network("2001::/32")


class InvalidWebhookUrl(PixmillError, ValueError):
    """The webhook URL is not an http(s) URL to a public host."""

    status, title = 422, "Invalid webhook URL"


def parse_webhook_url(url: str) -> httpx.URL:
    """The URL as httpx will send it; raise InvalidWebhookUrl for anything httpx would reject or read otherwise.

    httpx is the one parser: what is checked is what is sent (`urlsplit` drops tabs and newlines that httpx
    refuses, so a check with one and a request with the other disagree on the host).
    """
    if len(url) > MAX_URL_LENGTH:
        raise InvalidWebhookUrl(f"webhook_url is longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise InvalidWebhookUrl("webhook_url contains whitespace or control characters")
    try:
        parsed = httpx.URL(url)
        port = parsed.port
    except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
        raise InvalidWebhookUrl(f"webhook_url is not a valid URL ({exc})") from None
    if parsed.scheme not in ("http", "https"):
        raise InvalidWebhookUrl("webhook_url must be an http or https URL")
    if not parsed.host:
        raise InvalidWebhookUrl("webhook_url has no host")
    if "%" in parsed.host:
        raise InvalidWebhookUrl("webhook_url has an invalid host")
    if port is not None and not 0 < port < 65536:
        raise InvalidWebhookUrl("webhook_url has an invalid port")
    return parsed


def _host(url: httpx.URL) -> str:
    """The host as it goes on the wire (IDNA-encoded; an IPv6 literal without brackets)."""
    return url.raw_host.decode("ascii")


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def refusal(address: IPAddress) -> str | None:
    """Why a webhook may not go to `address`, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return refusal(address.ipv4_mapped)
        if address in IPV4_COMPATIBLE and int(address) > 1:  # :: and ::1 are judged below
            return "an IPv4-compatible IPv6 address"
        if address in TEREDO:
            return "a Teredo address"
        if address in NAT64_LOCAL:
            return "a local-use NAT64 address"
        if address in NAT64:
            return refusal(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None and (inner := refusal(address.sixtofour)) is not None:
            return f"a 6to4 address of {inner}"
    if not address.is_global or address.is_multicast:
        return f"a loopback, private or link-local address ({address})"
    return None


def resolve(url: httpx.URL, allow_private: bool) -> list[str]:
    """Resolve the URL's host once and return the addresses to connect to, in the resolver's order; raise
    InvalidWebhookUrl when any of them is refused (one refused answer refuses the host: DNS may hand out either)."""
    host = _host(url)
    try:
        infos = socket.getaddrinfo(host, _port(url), proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError):
        raise InvalidWebhookUrl(f"webhook_url host {host!r} does not resolve") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not allow_private:
        for address in addresses:
            if (why := refusal(address)) is not None:
                raise InvalidWebhookUrl(
                    f"webhook_url host {host!r} resolves to {why}; loopback, private and link-local targets are refused"
                )
    if not addresses:
        raise InvalidWebhookUrl(f"webhook_url host {host!r} does not resolve")
    return list(dict.fromkeys(str(a) for a in addresses))


def check_webhook_url(url: str, allow_private: bool) -> str:
    """Return `url` if pixmill may POST to it; raise InvalidWebhookUrl saying why not."""
    resolve(parse_webhook_url(url), allow_private)
    return url


class _PinnedBackend(httpcore.SyncBackend):
    """Connects to the checked addresses, each in turn until one answers (as socket.create_connection does),
    whatever the URL's host resolves to now: no second lookup. The URL's host still goes in the Host header and
    the TLS server name, because httpcore takes those from the request."""

    def __init__(self, host: str, addresses: list[str]) -> None:
        self.host = host
        self.addresses = addresses

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        if host != self.host:  # a redirect or a proxy would need a check of its own: refuse
            raise httpcore.ConnectError(f"connection to {host!r} not pinned")
        error: Exception = httpcore.ConnectError(f"{host!r} has no address")
        for address in self.addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error


class PinnedTransport(httpx.HTTPTransport):
    """An httpx transport whose every connection goes to `addresses`, those resolve() checked, for `host` only.

    verify: as httpx's (a CA bundle or SSL context); certificates are checked against `host`.
    """

    def __init__(self, host: str, addresses: list[str], verify: ssl.SSLContext | str | bool = True) -> None:
        super().__init__(verify=verify, retries=0)
        pool = self._pool
        if not isinstance(pool, httpcore.ConnectionPool) or not hasattr(pool, "_network_backend"):
            raise RuntimeError("this httpx/httpcore cannot pin a connection's address")  # never connect unpinned
        pool._network_backend = _PinnedBackend(host, addresses)


class _Refused(Exception):
    """The target answered, but not 2xx."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code


class _Unavailable(_Refused):
    """The target answered 5xx or 429: it counts against the host's circuit."""


class _LogTransitions(pybreaker.CircuitBreakerListener):
    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        old = old_state.name if old_state is not None else None
        level = logging.WARNING if new_state.name == pybreaker.STATE_OPEN else logging.INFO
        log.log(level, f"webhook circuit {new_state.name}", extra={"host": cb.name, "from": old})
        WEBHOOK_CIRCUIT_TRANSITIONS.labels(str(new_state.name).replace("-", "_")).inc()


class WebhookCircuits:
    """One circuit breaker per target host: after `fail_max` failed attempts in a row (no answer, a timeout,
    5xx or 429) deliveries to that host are not attempted for `reset_s`; then one trial attempt closes it again
    or reopens it. With a Redis client the state lives in Redis, so every process shares it."""

    def __init__(self, fail_max: int, reset_s: float, redis: Redis | None = None, prefix: str = "") -> None:
        self.fail_max = fail_max
        self.reset_s = reset_s
        self.redis = redis
        self.prefix = prefix
        self._breakers: dict[str, pybreaker.CircuitBreaker] = {}
        self._lock = threading.Lock()

    def for_host(self, host: str) -> pybreaker.CircuitBreaker:
        with self._lock:
            breaker = self._breakers.get(host)
            if breaker is None:
                storage: pybreaker.CircuitBreakerStorage | None = None
                if self.redis is not None:
                    try:
                        storage = pybreaker.CircuitRedisStorage(
                            pybreaker.STATE_CLOSED, self.redis, namespace=f"{self.prefix}webhook-circuit:{host}"
                        )
                    except Exception as exc:  # Redis is down: this delivery goes unguarded, the next tries again
                        log.warning("webhook circuit not shared: Redis unavailable", extra={"error": repr(exc)})
                        return self._breaker(host, None)
                breaker = self._breakers[host] = self._breaker(host, storage)
            return breaker

    def _breaker(self, host: str, storage: pybreaker.CircuitBreakerStorage | None) -> pybreaker.CircuitBreaker:
        return pybreaker.CircuitBreaker(
            fail_max=self.fail_max,
            reset_timeout=self.reset_s,
            # an answer other than 5xx/429, or a URL the check refuses now, says nothing about the host's health;
            # pybreaker counts these as successes (the host answered)
            exclude=[lambda exc: isinstance(exc, (_Refused, InvalidWebhookUrl)) and not isinstance(exc, _Unavailable)],
            listeners=[_LogTransitions()],
            state_storage=storage,
            name=host,
        )


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


@dataclass(frozen=True)
class Delivery:
    """How a delivery ended: delivered, or not and why."""

    delivered: bool
    reason: str | None = None


def _post(url: httpx.URL, body: bytes, secret: bytes, timeout_s: float, allow_private: bool) -> int:
    addresses = resolve(url, allow_private)  # again: DNS may have changed since submission
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature(secret, int(time.time()), body)}
    # trust_env=False: a proxy from the environment would make its own lookup of the host
    with httpx.Client(transport=PinnedTransport(_host(url), addresses), trust_env=False, timeout=timeout_s) as client:
        response = client.post(url, content=body, headers=headers)
    if response.status_code >= 500 or response.status_code == 429:
        raise _Unavailable(response.status_code)
    if not 200 <= response.status_code < 300:
        raise _Refused(response.status_code)
    return response.status_code


def deliver(
    url: str,
    payload: dict[str, Any],
    *,
    secret: bytes,
    attempts: int,
    backoff_s: float,
    timeout_s: float,
    allow_private: bool,
    circuits: WebhookCircuits,
) -> Delivery:
    """POST `payload` as JSON until a 2xx answer, at most `attempts` times with exponential backoff, through the
    circuit of the URL's host. Never raises: every failure ends the delivery, logged, with its reason."""
    try:
        body = json.dumps(payload, sort_keys=True).encode()
        parsed = parse_webhook_url(url)
        breaker = circuits.for_host(_host(parsed))
    except Exception as exc:
        log.warning("webhook delivery failed", extra={"error": repr(exc)})
        WEBHOOK_DELIVERIES.labels("invalid").inc()
        return Delivery(False, f"webhook not delivered: {exc}")
    reason, outcome = "webhook not delivered", "failed"
    for attempt in range(1, attempts + 1):
        try:
            # calling(), not call(): call() holds the breaker's lock while the request waits on the network,
            # which would let only one delivery at a time go to a host
            with breaker.calling():
                status_code = _post(parsed, body, secret, timeout_s, allow_private)
            log.info("webhook delivered", extra={"attempt": attempt, "status_code": status_code})
            WEBHOOK_DELIVERIES.labels("delivered").inc()
            return Delivery(True)
        except pybreaker.CircuitBreakerError:
            reason = (
                f"webhook not delivered: the circuit for host {breaker.name!r} is open after {circuits.fail_max} "
                f"failed attempts in a row; deliveries there resume after {circuits.reset_s:g} s"
            )
            log.warning("webhook not attempted: circuit open", extra={"attempt": attempt, "host": breaker.name})
            WEBHOOK_DELIVERIES.labels("circuit_open").inc()
            return Delivery(False, reason)
        except InvalidWebhookUrl as exc:
            log.warning("webhook refused by the URL check", extra={"attempt": attempt, "error": str(exc)})
            WEBHOOK_DELIVERIES.labels("invalid").inc()
            return Delivery(False, f"webhook not delivered: {exc}")
        except _Refused as exc:
            reason, outcome = f"webhook not delivered: the target answered {exc}", "refused"
            log.warning("webhook refused", extra={"attempt": attempt, "status_code": exc.status_code})
        except Exception as exc:  # any failure of one try is that try's failure, never an unsettled delivery
            outcome = "failed"
            reason = (
                f"webhook not delivered: {type(exc).__name__}: {exc}"
                if str(exc)
                else f"webhook not delivered: {type(exc).__name__}"
            )
            log.warning("webhook delivery failed", extra={"attempt": attempt, "error": repr(exc)})
        if attempt < attempts:
            time.sleep(backoff_s * 2 ** (attempt - 1))
    WEBHOOK_DELIVERIES.labels(outcome).inc()
    return Delivery(False, reason)
