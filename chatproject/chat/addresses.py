"""Which client a connection comes from: the address every per-client budget is kept for.

The address is the TCP peer's (ASGI's ``scope["client"]``). Behind a reverse proxy every
peer is the proxy, so the client is read from ``X-Forwarded-For``, but only when the peer
is a proxy listed in CHAT_TRUSTED_PROXIES: anyone else can write that header, and a budget
that believed it could be dodged by changing one header line.
"""

import ipaddress
from collections.abc import Iterable

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Connections without a TCP peer (a UNIX socket, an in-process test) share this one name
UNKNOWN = "unknown"

# One IPv6 subscriber gets a whole /64 and may use any address in it: a budget per IPv6
# address would be a budget per 2**64 of them
IPV6_CLIENT_PREFIX = 64


def client_address(scope: dict, trusted_proxies: Iterable[str] | None = None) -> str:
    """The client's address for budgets: an IPv4 address, an IPv6 /64, or UNKNOWN.

    trusted_proxies: addresses or networks (CIDR) whose X-Forwarded-For is believed;
    CHAT_TRUSTED_PROXIES by default.
    """
    if trusted_proxies is None:
        trusted_proxies = settings.CHAT_TRUSTED_PROXIES
    peer = _parse((scope.get("client") or (None,))[0])
    if peer is None:
        return UNKNOWN
    networks = [ipaddress.ip_network(proxy, strict=False) for proxy in trusted_proxies]
    return budget_key(_behind_proxies(peer, _forwarded_for(scope), networks))


def client_ip(scope: dict) -> str | None:
    """The client's own address, as client_address() finds it (None: no TCP peer)."""
    peer = _parse((scope.get("client") or (None,))[0])
    if peer is None:
        return None
    networks = [
        ipaddress.ip_network(proxy, strict=False) for proxy in settings.CHAT_TRUSTED_PROXIES
    ]
    return str(_behind_proxies(peer, _forwarded_for(scope), networks))


def budget_key(address: Address) -> str:
    """The name a budget is kept under: IPv4 as it is, IPv6 by its /64."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(address)


def _behind_proxies(peer: Address, forwarded: list[str], trusted: list[Network]) -> Address:
    """Walk X-Forwarded-For from the right while the hop is a trusted proxy.

    Each proxy appends the address it was reached from, so the rightmost entry that no
    trusted proxy wrote is the client; entries left of it are the client's own claims.
    """
    hop = peer
    for entry in reversed(forwarded):
        if not _is_trusted(hop, trusted):
            return hop
        claimed = _parse(entry)
        if claimed is None:
            # A trusted proxy wrote something that is not an address: stop at that proxy
            return hop
        hop = claimed
    return hop


def _is_trusted(address: Address, trusted: list[Network]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)


def _forwarded_for(scope: dict) -> list[str]:
    """Every X-Forwarded-For entry, in order, over all the header's lines."""
    entries = []
    for name, value in scope.get("headers", []):
        if name.lower() == b"x-forwarded-for":
            entries += [part.strip() for part in value.decode("latin-1").split(",")]
    return entries


def _parse(text: object) -> Address | None:
    """An address, IPv4-mapped IPv6 (a dual-stack server's ::ffff:10.0.0.9) as IPv4."""
    if not isinstance(text, str):
        return None
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address
