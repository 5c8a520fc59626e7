"""Passwords: the rule a new password must meet, and argon2id hashing (pwdlib over argon2-cffi).

The rule (docs/DECISIONS.md, "People and sessions"): 10 to 128 characters, not the username, not
one character repeated, not a well-known password. No composition rules (NIST SP 800-63B 5.1.1.2
advises against them); length and a block list do the work.
"""

from __future__ import annotations

from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from rectify.exceptions import InvalidInput

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "check_rule", "hasher", "hash_password", "verify"]

MIN_LENGTH = 10
MAX_LENGTH = 128

# Passwords of 10+ characters that lead every leaked-password list.
_COMMON = frozenset(
    {
        "1234567890",
        "0123456789",
        "12345678910",
        "123456789a",
        "a123456789",
        "1q2w3e4r5t",
        "qwertyuiop",
        "1qaz2wsx3edc",
        "password12",
        "password123",
        "password1234",
        "abcdefghij",
        "abc1234567",
        "qwerty1234",
        "admin12345",
        "administrator",
        "iloveyou12",
        "woaini1314",
        "5201314520",
        "1314520520",
    }
)


def check_rule(password: str, *, username: str | None = None) -> None:
    """InvalidInput naming `password` unless it meets the rule (the message says the rule)."""
    problem = _problem(password, username)
    if problem:
        raise InvalidInput(
            f"密码不符合要求：{problem}",
            errors=[{"field": "password", "message": problem}],
        )


def _problem(password: str, username: str | None) -> str | None:
    if len(password) < MIN_LENGTH:
        return f"密码至少需要 {MIN_LENGTH} 个字符（现在是 {len(password)} 个）"
    if len(password) > MAX_LENGTH:
        return f"密码最多 {MAX_LENGTH} 个字符"
    if password != password.strip():
        return "密码首尾不能是空格"
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        return "密码不能含控制字符"
    lowered = password.lower()
    if username and username.lower() in lowered:
        return "密码不能包含用户名"
    if len(set(password)) == 1:
        return "密码不能是同一个字符的重复"
    if lowered in _COMMON:
        return "这是最常见的密码之一，请换一个"
    return None


@lru_cache(maxsize=4)
def hasher(memory_kib: int = 65536, time_cost: int = 3) -> PasswordHash:
    """argon2id with the given cost (the defaults are argon2-cffi's, RFC 9106's second choice)."""
    return PasswordHash((Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib),))


def hash_password(password: str, *, memory_kib: int = 65536, time_cost: int = 3) -> str:
    """The argon2id hash (with its own salt and parameters) a principal row keeps."""
    return hasher(memory_kib, time_cost).hash(password)


def verify(
    password: str, password_hash: str | None, *, memory_kib: int = 65536, time_cost: int = 3
) -> tuple[bool, str | None]:
    """(matches, a new hash when the stored one has other parameters than the configured).

    An absent hash (an unknown user) is checked against a dummy of the configured cost, so the
    answer takes as long as for a real account."""
    chosen = hasher(memory_kib, time_cost)
    if password_hash is None:
        chosen.verify(password, _dummy(memory_kib, time_cost))
        return False, None
    return chosen.verify_and_update(password, password_hash)


@lru_cache(maxsize=4)
def _dummy(memory_kib: int, time_cost: int) -> str:
    return hash_password("rectify: no such account", memory_kib=memory_kib, time_cost=time_cost)
