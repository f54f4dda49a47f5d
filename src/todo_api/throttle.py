"""Throttling of failed logins, per account and per client address (sliding windows).

Each key (a login name, a client address) has the times of its recent failures; once it has
`limit` failures within `window` seconds, further attempts are refused with 429 and a
`Retry-After` until the oldest of those slides out of the window. Nothing is ever locked for
good: blocks lift by themselves, and a successful login clears its account's failures.

Where the failures are kept is a `LoginFailureLog` (a port of todo_core): in production the
PostgreSQL table `login_throttle`, shared by every worker and instance, so the limits hold for
the whole deployment; `MemoryLoginFailureLog` (one process, a clock the tests move) otherwise.
A successful login costs one indexed read, and writes only when its account had failures.

The login itself hands its `gate` (a `LoginGate`, see todo_core.ports) to the accounts service,
whose store, when it holds the log (PostgreSQL), reads the failures in the login's own
statement and records a failure in the statement that drops the login's speculative session:
no round trip of the throttle's own. `check`, `failed` and `succeeded` serve the other
throttled routes (password checks, reset requests).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from todo_core.ports import LoginFailureLog

Clock = Callable[[], float]  # seconds, monotonic


class TooManyAttempts(Exception):  # noqa: N818 (reads as the HTTP outcome)
    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"Too many failed logins; try again in {retry_after} seconds.")


@dataclass(frozen=True)
class LoginAttempt:
    """What `check` saw, for `failed` or `succeeded` to act on."""

    account_key: str
    address_key: str
    account_had_failures: bool


@dataclass(frozen=True)
class LoginThrottle:
    log: LoginFailureLog
    per_account: int
    per_address: int
    window: float = 60.0
    scope: str = "login"  # keys are `<scope>:account:...`: throttles on one log stay apart

    @classmethod
    def per_minute(
        cls,
        *,
        per_account: int,
        per_address: int,
        window: float = 60.0,
        clock: Clock = time.monotonic,
        max_keys: int = 100_000,
        log: LoginFailureLog | None = None,
        scope: str = "login",
    ) -> LoginThrottle:
        """On `log` (shared), else in this process's memory on `clock`."""
        store = log or MemoryLoginFailureLog(clock=clock, max_keys=max_keys)
        return cls(
            store, per_account=per_account, per_address=per_address, window=window, scope=scope
        )

    def gate(self, *, account: str, address: str) -> LoginGate:
        """This attempt's keys and limits, for a store to check inside the login itself."""
        account_key_ = f"{self.scope}:{account_key(account)}"
        address_key = f"{self.scope}:address:{address}"
        limits = {account_key_: self.per_account, address_key: self.per_address}
        keep = max(self.per_account, self.per_address)
        return LoginGate(self.log, limits, self.window, keep, account_key_)

    async def check(self, *, account: str, address: str) -> LoginAttempt:
        """Raise TooManyAttempts while either the account or the address is throttled."""
        gate = self.gate(account=account, address=address)
        recent = await self.log.recent(list(gate.limits), window=self.window)
        gate.admit(recent)
        account_key_, address_key = gate.limits
        return LoginAttempt(account_key_, address_key, account_key_ in recent)

    async def failed(self, attempt: LoginAttempt) -> None:
        keep = max(self.per_account, self.per_address)
        await self.log.record(
            [attempt.account_key, attempt.address_key], window=self.window, keep=keep
        )

    async def succeeded(self, attempt: LoginAttempt) -> None:
        if attempt.account_had_failures:  # nothing to forget, nothing to write
            await self.log.clear(attempt.account_key)


@dataclass(frozen=True)
class LoginGate:
    """One attempt's throttle, as `todo_core.ports.LoginGate`: a key is refused once it has
    its limit of failures within the window (the same rule a store applies in SQL)."""

    log: LoginFailureLog
    limits: Mapping[str, int]
    window: float
    keep: int
    account: str

    def admit(self, recent: Mapping[str, Sequence[float]]) -> None:
        wait = max(self._retry_after(recent.get(key, ()), n) for key, n in self.limits.items())
        if wait:
            raise TooManyAttempts(wait)

    def _retry_after(self, ages: Sequence[float], limit: int) -> int:
        """`ages`: newest first. Seconds until one more attempt is allowed; 0 when it is."""
        if len(ages) < limit:
            return 0
        return max(1, math.ceil(self.window - ages[limit - 1]))


def account_key(login: str) -> str:
    """ "Ada@Example.com " and "ada@example.com" are one account to the login, so one key. A
    digest: any text a client sends (NUL, lone surrogates) makes a key the store can hold,
    and the shared table holds no one's email."""
    normal = login.strip().lower()[:320].encode("utf-8", "surrogatepass")
    return "account:" + hashlib.sha256(normal).hexdigest()


class MemoryLoginFailureLog:
    """`LoginFailureLog` in this process's memory: each process throttles on its own. At most
    `max_keys` keys are tracked, the least recently failed go first."""

    def __init__(self, *, clock: Clock = time.monotonic, max_keys: int = 100_000) -> None:
        self._clock, self._max_keys = clock, max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    async def recent(self, keys: Sequence[str], *, window: float) -> dict[str, list[float]]:
        now = self._clock()
        found = {}
        for key in keys:
            failures = self._recent(key, now - window)
            if failures:
                found[key] = [now - at for at in reversed(failures)]
        return found

    async def record(self, keys: Sequence[str], *, window: float, keep: int) -> None:
        now = self._clock()
        for key in keys:
            failures = self._recent(key, now - window)
            failures.append(now)
            while len(failures) > keep:  # older ones no longer decide anything
                failures.popleft()
            self._failures[key] = failures
            self._failures.move_to_end(key)
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    async def clear(self, key: str) -> None:
        self._failures.pop(key, None)

    def _recent(self, key: str, cutoff: float) -> deque[float]:
        failures = self._failures.get(key, deque())
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            self._failures.pop(key, None)
        return failures
