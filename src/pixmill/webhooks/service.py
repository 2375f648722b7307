"""Webhook URL checks (no requests into private networks unless allowed) and signed delivery with retries."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

log = logging.getLogger("pixmill.webhooks")

SIGNATURE_HEADER = "X-Pixmill-Signature"


class InvalidWebhookUrl(ValueError):
    """The webhook URL is not an http(s) URL to a public host."""


def check_webhook_url(url: str, allow_private: bool) -> str:
    """Return `url` if pixmill may POST to it; raise InvalidWebhookUrl saying why not."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidWebhookUrl("webhook_url must be an http or https URL")
    if not parts.hostname:
        raise InvalidWebhookUrl("webhook_url has no host")
    if len(url) > 2048:
        raise InvalidWebhookUrl("webhook_url is longer than 2048 characters")
    if allow_private:
        return url
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, ValueError):
        raise InvalidWebhookUrl(f"webhook_url host {parts.hostname!r} does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            raise InvalidWebhookUrl(
                f"webhook_url host {parts.hostname!r} resolves to a loopback, private or link-local "
                f"address ({address}); such targets are refused"
            )
    return url


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def deliver(
    url: str,
    payload: dict[str, Any],
    *,
    secret: bytes,
    attempts: int,
    backoff_s: float,
    timeout_s: float,
    allow_private: bool,
) -> bool:
    """POST `payload` as JSON until a 2xx answer, at most `attempts` times with exponential backoff."""
    body = json.dumps(payload, sort_keys=True).encode()
    for attempt in range(1, attempts + 1):
        try:
            check_webhook_url(url, allow_private)  # again: DNS may have changed since submission
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature(secret, int(time.time()), body),
            }
            response = httpx.post(url, content=body, headers=headers, timeout=timeout_s)
            if 200 <= response.status_code < 300:
                log.info("webhook delivered", extra={"attempt": attempt, "status_code": response.status_code})
                return True
            log.warning("webhook refused", extra={"attempt": attempt, "status_code": response.status_code})
        except (httpx.HTTPError, InvalidWebhookUrl) as exc:
            log.warning("webhook delivery failed", extra={"attempt": attempt, "error": str(exc)})
        if attempt < attempts:
            time.sleep(backoff_s * 2 ** (attempt - 1))
    return False
