"""The client's address behind proxies: trust ``X-Forwarded-For`` only from named proxies.

uvicorn's default trusts the header from 127.0.0.1, so any local client could rotate it
and get a fresh rate-limit bucket per request (450 of 450 served in the issue's test) and
forge the address in the access log. Here nothing is trusted unless the operator names
the proxies (``API_FORWARDED_ALLOW_IPS``); then the address is the right-most entry of the
header that is not itself a trusted proxy, as nginx's ``real_ip_recursive`` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrustedProxies:
    """The proxy addresses whose ``X-Forwarded-For`` counts; ``*`` trusts every peer."""

    addresses: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, items: list[str]) -> TrustedProxies:
        """From a settings list such as ``["10.0.0.5", "127.0.0.1"]`` or ``["*"]``."""
        return cls(frozenset(item.strip() for item in items if item.strip()))

    def _trusts(self, address: str) -> bool:
        return "*" in self.addresses or address in self.addresses

    def client(self, peer: str | None, forwarded_for: str | None) -> str:
        """The address to rate-limit and log for a request from ``peer``."""
        if peer is None:
            return "unknown"
        if not forwarded_for or not self.addresses or not self._trusts(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._trusts(hop):
                return hop[:64]
        return hops[0][:64] if hops else peer
