"""The check character of an 18-digit resident ID number (GB 11643-1999, ISO 7064 MOD 11-2)."""

from __future__ import annotations

# the weights of the first 17 digits, and the check character by the weighted sum mod 11
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"


def check_character(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]
