"""Which TLS context an HTTP provider's client gets: the CA bundle (~30 ms to
load) only for an https:// API, and never a context that skips verification."""

from __future__ import annotations

import ssl

import pytest

from reconciler.providers.http import shared_ssl_context, ssl_context_for


@pytest.mark.parametrize("url", ["https://api.exolve.ru/", "HTTPS://api.example.com/v1/"])
def test_an_https_api_gets_the_verifying_context_with_the_ca_roots(url):
    ctx = ssl_context_for(url)
    assert ctx is shared_ssl_context()  # built once per process
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] > 0


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/", "HTTP://localhost/api/v2/"])
def test_a_plain_http_api_gets_a_context_that_verifies_and_trusts_nothing(url):
    ctx = ssl_context_for(url)
    assert ctx is not shared_ssl_context()
    # still verifying: an https URL reached through this client fails its handshake
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] == 0
    assert ctx.get_ca_certs() == []
