"""bcrypt password hashing that keeps the event loop free.

bcrypt is deliberately slow (around 0.25 s at cost 12), so each call runs in a worker thread.
bcrypt reads only the first 72 bytes of a password; the password policy
(`todo_core.domain.users.check_password`) refuses longer ones instead of pre-hashing, so what
a user types is exactly what is checked.
"""

from __future__ import annotations

import asyncio

import bcrypt

MIN_ROUNDS, MAX_ROUNDS = 4, 31


class BcryptPasswordHasher:
    def __init__(self, rounds: int = 12) -> None:
        if not MIN_ROUNDS <= rounds <= MAX_ROUNDS:
            raise ValueError(f"bcrypt rounds must be {MIN_ROUNDS}..{MAX_ROUNDS}, got {rounds}")
        self.rounds = rounds

    async def hash(self, password: str) -> str:
        """A fresh salted hash; raises ValueError for passwords bcrypt cannot hash faithfully."""
        secret = password.encode("utf-8")
        if len(secret) > 72 or b"\x00" in secret:
            raise ValueError("password must be at most 72 bytes and contain no NUL")
        hashed = await asyncio.to_thread(bcrypt.hashpw, secret, bcrypt.gensalt(self.rounds))
        return hashed.decode("ascii")

    async def verify(self, password: str, password_hash: str) -> bool:
        """Whether `password` matches; False, never an exception, for malformed input."""
        try:
            secret, hashed = password.encode("utf-8"), password_hash.encode("ascii")
            return await asyncio.to_thread(bcrypt.checkpw, secret, hashed)
        except (ValueError, TypeError, AttributeError):
            return False
