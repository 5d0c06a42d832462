"""Which deliveries we have already taken: forges redeliver on timeouts and people press
"Redeliver", and each copy must not become another job."""

from __future__ import annotations

import threading
from collections import OrderedDict


class DeliveryLog:
    """A bounded in-memory LRU of delivery ids, safe across request threads. In-process only:
    the queue dedupes too, and the operations issue makes this durable."""

    def __init__(self, capacity: int = 10_000):
        self._capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, delivery: str) -> bool:
        """True if this delivery is new (and is now ours); False for a repeat. Claiming under
        the lock means two copies arriving at once cannot both pass."""
        with self._lock:
            if delivery in self._seen:
                self._seen.move_to_end(delivery)
                return False
            self._seen[delivery] = None
            if len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
            return True

    def release(self, delivery: str) -> None:
        """Forget a claim whose jobs were not enqueued, so the forge's retry is accepted."""
        with self._lock:
            self._seen.pop(delivery, None)
