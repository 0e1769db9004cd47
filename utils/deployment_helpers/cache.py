"""An optional LRU cache of model outputs, keyed by a hash of the input tensors.

Useful when the same inputs come back often (a demo page, a retrying client); off by
default because most traffic is unique and hashing costs a few microseconds. The key
covers the model's name, version and file sha256, so a reload never serves stale answers.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

from numpy.typing import NDArray

from utils.deployment_helpers.served_model import ServedModel

Feed = dict[str, NDArray[Any]]


def feed_key(model: ServedModel, feed: Feed) -> bytes:
    """A 16-byte digest of the model identity and every input's name, dtype, shape, bytes."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{model.name}\0{model.version}\0{id(model)}".encode())
    for name in sorted(feed):
        array = feed[name]
        digest.update(f"\0{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        if array.dtype.kind == "O":
            for item in array.reshape(-1):
                digest.update(item if isinstance(item, bytes) else str(item).encode())
                digest.update(b"\0")
        else:
            digest.update(array.tobytes())
    return digest.digest()


class ResponseCache:
    """A thread-safe LRU of ``max_entries`` output dicts (0 turns it off)."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[bytes, Feed] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        """False when ``max_entries`` is 0."""
        return self.max_entries > 0

    def get(self, key: bytes) -> Feed | None:
        """The cached outputs for ``key`` (marked most recently used), or None."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: bytes, outputs: Feed) -> None:
        """Store outputs, evicting the least recently used entry when full."""
        if not self.enabled:
            return
        with self._lock:
            self._entries[key] = outputs
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
