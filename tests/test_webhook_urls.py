from __future__ import annotations

import ipaddress

import pytest

from pixmill.webhooks.service import InvalidWebhookUrl, check_webhook_url, refusal


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost/x",
        "http://192.168.1.5/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "http://169.254.169.254/",
        "http://172.16.0.1/",
        # IPv6 forms that carry a private IPv4 address
        "http://[::127.0.0.1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[64:ff9b::127.0.0.1]/",  # NAT64
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
        "http://[64:ff9b:1::7f00:1]/",  # local-use NAT64
        "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "http://[2002:c0a8:105::1]/",  # 6to4 of 192.168.1.5
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
        "http://[::93.184.216.34]/",  # IPv4-compatible: deprecated, refused whatever it carries
    ],
)
def test_private_targets_are_refused(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        check_webhook_url(url, allow_private=False)
    assert check_webhook_url(url, allow_private=True) == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "file:///etc/passwd",
        "http:///nohost",
        "javascript:alert(1)",
        # urlsplit drops the tab and reads host 93.184.216.34; httpx refuses the URL
        "http://127.0.0.1:80\t@93.184.216.34/",
        "http://93.184.216.34/\n",
        " http://93.184.216.34/",
        "http://exa mple.com/",
        "http://93.184.216.34:99999/",
        "http://[::1/",
        "http://" + "a" * 2050 + ".com/",
    ],
)
def test_urls_httpx_would_reject_are_refused_always(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        check_webhook_url(url, allow_private=True)


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "::ffff:93.184.216.34", "64:ff9b::5db8:d822", "2002:5db8:d822::1", "2606:2800:220:1::1"],
)
def test_public_addresses_and_their_translations_are_accepted(address: str) -> None:
    # a DNS64 resolver answers 64:ff9b::/96 for every IPv4-only host: judged by the IPv4 address inside
    assert refusal(ipaddress.ip_address(address)) is None


def test_public_ip_literal_is_accepted() -> None:
    assert check_webhook_url("https://93.184.216.34/hook", allow_private=False)
