"""Where a webhook may go: `https://` to public addresses only (checked when an endpoint is saved
and again before each send, the name resolved each time), so Engage never makes a request for
someone into its own network (cloud metadata at 169.254.169.254, a database on 10.x, loopback).
WEBHOOK_ALLOW_LOOPBACK (tests, development) also allows http:// to 127.0.0.0/8 and ::1 — only
loopback, never the other private ranges."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class Refused(ValueError):
    """The URL may not be used, for the reason given."""


def check(url: str) -> tuple[str, str, int, list[str]]:
    """(scheme, host, port, addresses to connect to), or Refused saying why."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("The URL cannot be read.")
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise Refused("The URL must start with https:// and name a host.")
    if parts.username or parts.password:
        raise Refused("The URL must not carry a user name or password.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Refused(f"The host name {host!r} does not resolve.")
    addresses = sorted({info[4][0] for info in found})
    loopback_ok = settings.WEBHOOK_ALLOW_LOOPBACK
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.version == 6 and ip.ipv4_mapped:  # ::ffff:127.0.0.1 is 127.0.0.1
            ip = ip.ipv4_mapped
        if ip.is_global and not ip.is_multicast:
            continue
        if loopback_ok and ip.is_loopback:
            continue
        raise Refused(f"{host} resolves to {ip}, which is not a public address.")
    all_loopback = all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)
    if parts.scheme != "https" and not (loopback_ok and all_loopback):
        raise Refused("The URL must start with https://.")
    return parts.scheme, host, port, addresses
