"""Booking codes (预约码): short, unambiguous, random, unique (a database constraint)."""

from __future__ import annotations

import io
import secrets

import segno

# No 0/O, 1/I/L: read aloud at the counter and typed from a phone screen without mistakes.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8  # 31**8 ≈ 8.5e11 codes: not guessable, collisions handled by the unique index


def new_code() -> str:
    """Uniform over the 31**8 codes: one draw from the OS's generator, its base-31 digits
    (``secrets.choice`` per character read the generator eight times: ~10 µs of every
    booking, against ~3)."""
    number = secrets.randbelow(len(ALPHABET) ** LENGTH)
    characters = []
    for _ in range(LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        characters.append(ALPHABET[digit])
    return "".join(characters)


def normalise_code(raw: str) -> str:
    return raw.strip().upper().replace("-", "").replace(" ", "")


def display_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def qr_svg(code: str, *, title: str | None = None) -> bytes:
    """The booking code as a QR code (SVG) for the counter's scanner; ``title`` names it for
    screen readers when the SVG is placed inline in a page."""
    out = io.BytesIO()
    segno.make_qr(code, error="m").save(out, kind="svg", scale=6, border=2, title=title,
                                         xmldecl=title is None, svgns=True)
    return out.getvalue()
