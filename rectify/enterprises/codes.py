"""Checks for the 统一社会信用代码 (GB 32100-2015); the 行政区划代码 one is in rectify.inputs."""

from __future__ import annotations

from rectify.inputs import check_region_code

__all__ = ["check_credit_code", "check_region_code", "credit_code_check_char"]

# GB 32100-2015: 31 characters (no I, O, S, V, Z), weights 3^i mod 31 for positions 1..17.
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_char(first17: str) -> str:
    """The 18th (check) character for the first 17 characters of a credit code."""
    total = sum(_ALPHABET.index(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _ALPHABET[(31 - total % 31) % 31]


def check_credit_code(code: str) -> str:
    """Return the code (upper-cased) or raise ValueError saying what is wrong with it. Letters
    may be sent in lower case; spaces and anything outside the code's alphabet are refused."""
    if code != code.strip():
        raise ValueError("must be the 18 characters alone, without spaces or line breaks")
    code = code.upper() if code.isascii() else code  # "ß".upper() is "SS": never a code
    if len(code) != 18:
        raise ValueError(f"must be 18 characters, got {len(code)}")
    bad = sorted({c for c in code if c not in _ALPHABET})
    if bad:
        raise ValueError(f"contains characters not allowed by GB 32100-2015: {''.join(bad)}")
    if not code[2:8].isdigit():
        raise ValueError("characters 3-8 must be the 6-digit region code")
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        raise ValueError(f"check character is {code[17]}, GB 32100-2015 gives {expected}")
    return code
