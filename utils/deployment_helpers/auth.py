"""API keys: the one parser and checker both apps use.

A key arrives as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``; the admin key
(repository load/unload) as ``X-Admin-Key: <key>``, and an admin key is also a valid API
key, so an operator sends one header, not two. Keys are compared in constant time against
every configured key (no early exit to time). What a log or the prediction log records
of a client is :func:`key_id`, a short digest: never the key itself.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field

from utils.errors import Forbidden, Unauthorized

BEARER = "bearer "


def key_id(key: str | bytes) -> str:
    """A stable, non-reversible name for a key in logs: ``key:`` + 12 hex characters."""
    raw = key.encode() if isinstance(key, str) else key
    return "key:" + hashlib.sha256(raw).hexdigest()[:12]


def read_api_key(x_api_key: str | None, authorization: str | None) -> str | None:
    """The key a request carries: ``X-API-Key`` first, else a Bearer token, else None."""
    if x_api_key:
        return x_api_key.strip()
    if authorization and authorization[: len(BEARER)].lower() == BEARER:
        token = authorization[len(BEARER) :].strip()
        return token or None
    return None


@dataclass(frozen=True)
class ApiKeys:
    """The configured keys; empty ``keys`` means authentication is off."""

    keys: tuple[str, ...] = ()
    admin_key: str = ""
    _encoded: tuple[bytes, ...] = field(default=(), repr=False)
    _ids: tuple[str, ...] = field(default=(), repr=False)
    """:func:`key_id` of each of ``_encoded``, computed once: a digest per request showed
    in the serving profile."""

    @classmethod
    def from_settings(cls, keys: Iterable[str], admin_key: str = "") -> ApiKeys:
        """Keys from settings; the admin key also opens every route when auth is on."""
        listed = tuple(k for k in keys if k)
        every = (*listed, admin_key) if listed and admin_key else listed
        encoded = tuple(k.encode() for k in every)
        return cls(listed, admin_key, encoded, tuple(key_id(k) for k in encoded))

    @property
    def enabled(self) -> bool:
        """True when requests must carry a key."""
        return bool(self.keys)

    def check(self, given: str | None) -> str:
        """The :func:`key_id` of a valid key.

        :raise Unauthorized: no key, or a key that matches none (401).
        """
        if given is None:
            raise Unauthorized(
                "this server needs an API key: send it as 'X-API-Key: <key>' or "
                "'Authorization: Bearer <key>'"
            )
        raw = given.encode()
        matched = -1
        for index, key in enumerate(self._encoded):  # compare with every key: no early exit
            if hmac.compare_digest(raw, key):
                matched = index
        if matched < 0:
            raise Unauthorized("the API key is not valid: check it, or ask for a new one")
        return self._ids[matched]

    def check_admin(self, admin_header: str | None, api_key: str | None) -> None:
        """Allow a repository change: the admin key in ``X-Admin-Key`` (or as the API key).

        :raise Forbidden: no admin key is configured (403), or the key given is not it.
        :raise Unauthorized: no key at all (401).
        """
        if not self.admin_key:
            raise Forbidden(
                "repository load/unload is disabled: start the server with API_ADMIN_KEY set"
            )
        given = admin_header or api_key
        if not given:
            raise Unauthorized("repository changes need the admin key in 'X-Admin-Key'")
        if not hmac.compare_digest(given.encode(), self.admin_key.encode()):
            raise Forbidden("this key may not change the repository: use the admin key")
