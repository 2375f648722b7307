from __future__ import annotations

import pytest

from pixmill.webhooks.service import InvalidWebhookUrl, check_webhook_url


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
    ],
)
def test_private_targets_are_refused(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        check_webhook_url(url, allow_private=False)
    assert check_webhook_url(url, allow_private=True) == url


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "http:///nohost", "javascript:alert(1)"])
def test_non_http_urls_are_refused_always(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        check_webhook_url(url, allow_private=True)


def test_public_ip_literal_is_accepted() -> None:
    assert check_webhook_url("https://93.184.216.34/hook", allow_private=False)
