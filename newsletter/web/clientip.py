"""The visitor's address: REMOTE_ADDR, or what a trusted proxy says it forwarded.

X-Forwarded-For is whatever the client wants it to be unless it came through a proxy we run, so it
is believed only when the connection comes from an address in TRUSTED_PROXIES (addresses or
networks, or "*" for a platform router whose address is not known in advance). Each trusted hop
appends the address it saw, so the list is read from the right, skipping our own proxies: the
first address that is not one of them is the client's. Rate limits (django-ratelimit's "ip" key,
through RATELIMIT_IP_META_KEY) and the consent record use this one function.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...] | None:
    """The trusted networks; None means every peer is trusted ("*")."""
    if "*" in trusted:
        return None
    return tuple(ipaddress.ip_network(entry) for entry in trusted)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address, networks: tuple[Network, ...] | None) -> bool:
    if networks is None:
        return True
    return any(address in network for network in networks)


def client_ip(request) -> str:
    """The client's IP address as text (REMOTE_ADDR when no trusted proxy forwarded the request)."""
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = tuple(settings.TRUSTED_PROXIES)
    if not trusted:
        return remote
    networks = _networks(trusted)
    peer = _address(remote)
    if peer is None or not _trusted(peer, networks):
        return remote
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    if networks is None:
        # A router of unknown address: only the hop it appended itself can be believed.
        last = _address(hops[-1])
        return str(last) if last is not None else remote
    client = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # garbage from the client's side: stop at the last address we can trust
        client = address
        if not _trusted(address, networks):
            break
    return str(client)
