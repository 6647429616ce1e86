"""Adaptive concurrency for folder runs: back off when Gemini says 429, creep back up after.

AIMD, the way TCP does it: a rate-limit answer (after the SDK's own per-request retries)
halves the number of requests allowed in flight (never below 1); every ``increase_after``
successes in a row add one back, up to the maximum. A burst of 429s from requests that were
all started under the same limit halves it once, not once per request (the "epoch" check).
"""

from __future__ import annotations

import threading

__all__ = ["AdaptiveLimit"]


class AdaptiveLimit:
    """How many requests may be in flight right now.

    Args:
        maximum: The user's ``concurrency`` (the ceiling, and the starting value).
        minimum: The floor (1).
        increase_after: Successes in a row before the limit grows by one.

    Example:
        >>> lim = AdaptiveLimit(8, increase_after=2)
        >>> epoch = lim.epoch
        >>> lim.on_throttle(epoch), lim.on_throttle(epoch), lim.limit  # one burst, one halving
        (True, False, 4)
        >>> lim.on_success(); lim.on_success(); lim.limit
        5
    """

    def __init__(self, maximum: int, minimum: int = 1, increase_after: int = 10):
        if maximum < 1:
            raise ValueError(f"concurrency must be >= 1, got {maximum}")
        self.maximum = int(maximum)
        self.minimum = max(1, min(int(minimum), self.maximum))
        self.increase_after = max(1, int(increase_after))
        self.limit = self.maximum
        self.epoch = 0
        self.throttles = 0  # how many times the limit was lowered
        self.lowest = self.maximum
        self._streak = 0
        self._lock = threading.Lock()

    def on_success(self) -> None:
        """A request succeeded: after ``increase_after`` in a row, allow one more in flight."""
        with self._lock:
            self._streak += 1
            if self._streak >= self.increase_after and self.limit < self.maximum:
                self.limit += 1
                self._streak = 0

    def on_throttle(self, epoch: int) -> bool:
        """A request started in ``epoch`` got a 429: halve the limit once per epoch.

        Returns:
            True when this call lowered the limit.
        """
        with self._lock:
            self._streak = 0
            if epoch != self.epoch:
                return False  # already reacted to this burst
            self.limit = max(self.minimum, self.limit // 2)
            self.lowest = min(self.lowest, self.limit)
            self.epoch += 1
            self.throttles += 1
            return True

    def __repr__(self) -> str:
        return f"AdaptiveLimit(limit={self.limit}, maximum={self.maximum}, throttles={self.throttles})"
