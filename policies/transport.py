"""Where the server may speak plain http: to a loopback host only (a developer's machine, a
test). One rule for every URL the server serves under or talks to — its issuer
(``idp.config``), back-channel logout URIs, client ``jwks_uri``s; anywhere else, https."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback(host: str | None) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def https_or_loopback(url: str) -> bool:
    """An absolute https URL with a host, or plain http to a loopback host."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and is_loopback(parts.hostname)
