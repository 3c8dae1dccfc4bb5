"""Booking codes (预约码): short, unambiguous, random, unique (a database constraint)."""

from __future__ import annotations

import secrets

# No 0/O, 1/I/L: read aloud at the counter and typed from a phone screen without mistakes.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8  # 31**8 ≈ 8.5e11 codes: not guessable, collisions handled by the unique index


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise_code(raw: str) -> str:
    return raw.strip().upper().replace("-", "").replace(" ", "")


def display_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"
