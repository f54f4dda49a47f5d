"""Throttling of failed logins, per account and per client address (sliding windows).

Each key (a login name, a client address) keeps the times of its recent failures; once it has
`limit` failures within `window` seconds, further attempts are refused with 429 and a
`Retry-After` until the oldest failure slides out of the window. Nothing is ever locked for
good: blocks lift by themselves, and a successful login clears its account's failures.

The state lives in this process's memory, so each instance (and each uvicorn worker)
throttles on its own: N instances allow up to N times the limit. That is the price of a
stateless deployment; a shared store (Redis, the database) would make it global.
Memory is bounded: at most `max_keys` keys are tracked, the least recently failed go first.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]  # seconds, monotonic


class TooManyAttempts(Exception):  # noqa: N818 (reads as the HTTP outcome)
    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"Too many failed logins; try again in {retry_after} seconds.")


class SlidingWindow:
    """Failures per key within the last `window` seconds."""

    def __init__(self, *, limit: int, window: float, clock: Clock, max_keys: int) -> None:
        self.limit, self.window, self._clock, self._max_keys = limit, window, clock, max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again; 0 when it may try now."""
        failures = self._recent(key)
        if len(failures) < self.limit:
            return 0
        return max(1, math.ceil(failures[-self.limit] + self.window - self._clock()))

    def fail(self, key: str) -> None:
        failures = self._recent(key)
        failures.append(self._clock())
        while len(failures) > self.limit:  # older ones no longer decide anything
            failures.popleft()
        self._failures[key] = failures
        self._failures.move_to_end(key)
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures.get(key, deque())
        cutoff = self._clock() - self.window
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            self._failures.pop(key, None)
        return failures


@dataclass(frozen=True)
class LoginThrottle:
    accounts: SlidingWindow
    addresses: SlidingWindow

    @classmethod
    def per_minute(
        cls,
        *,
        per_account: int,
        per_address: int,
        window: float = 60.0,
        clock: Clock = time.monotonic,
        max_keys: int = 100_000,
    ) -> LoginThrottle:
        def make(limit: int) -> SlidingWindow:
            return SlidingWindow(limit=limit, window=window, clock=clock, max_keys=max_keys)

        return cls(make(per_account), make(per_address))

    def check(self, *, account: str, address: str) -> None:
        """Raise TooManyAttempts while either the account or the address is throttled."""
        wait = max(
            self.accounts.retry_after(_account_key(account)), self.addresses.retry_after(address)
        )
        if wait:
            raise TooManyAttempts(wait)

    def failed(self, *, account: str, address: str) -> None:
        self.accounts.fail(_account_key(account))
        self.addresses.fail(address)

    def succeeded(self, *, account: str) -> None:
        self.accounts.clear(_account_key(account))


def _account_key(login: str) -> str:
    # "Ada@Example.com " and "ada@example.com" are one account to the login, so one key here.
    return login.strip().lower()[:320]
