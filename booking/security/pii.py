"""Personal data at rest: ID numbers, phones, and scans of identity documents.

Values are encrypted with AES-256-GCM under a key from the settings (never stored in the
database), looked up by a keyed hash (HMAC-SHA256), and shown masked. Both keys are
derived from ``BOOKING_DATA_KEY`` with HKDF, each for one purpose.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from datetime import date, timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from booking.kernel.idnumbers import CHECK_CHARACTERS, WEIGHTS

_VERSION = "v1"


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"booking:" + purpose).derive(master)


class PersonalDataVault:
    """Encrypts, decrypts, hashes and masks personal identifiers."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) < 32:
            raise ValueError("the data key must be at least 32 bytes")
        self._aead = AESGCM(_derive(master_key, b"encrypt"))
        self._hash_key = _derive(master_key, b"lookup-hash")

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """``context`` binds the ciphertext to its use (e.g. "id_number"): a ciphertext
        copied into another column does not decrypt."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return f"{_VERSION}:" + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str, *, context: str) -> str:
        version, _sep, body = token.partition(":")
        if version != _VERSION:
            raise ValueError("unknown ciphertext version")
        raw = base64.urlsafe_b64decode(body)
        return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()

    def seal(self, data: bytes, *, context: str) -> bytes:
        """Binary personal data (scans of identity documents): version, nonce, ciphertext."""
        nonce = os.urandom(12)
        return _VERSION.encode() + nonce + self._aead.encrypt(nonce, data, context.encode())

    def unseal(self, blob: bytes, *, context: str) -> bytes:
        if blob[:2] != _VERSION.encode():
            raise ValueError("unknown ciphertext version")
        return self._aead.decrypt(blob[2:14], blob[14:], context.encode())

    def lookup_hash(self, value: str, *, kind: str) -> str:
        """A stable keyed hash for equality lookups and unique indexes."""
        return hmac.new(self._hash_key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


# --- masks: what is kept, and shown, of a number --------------------------------------------
#
# A mask is stored beside the encrypted number and is also what every response shows (one
# form: responses are stored too, in idempotency records and in clients). It must not
# narrow the number: from a database dump without the data key, at least 10^6 numbers
# must remain possible for each mask, counting in everything else stored in plain text.
#
# Resident ID (GB 11643): only the check character is shown. Even granting the exact
# six-digit region (the hukou province is stored, and a Hong Kong, Macao or Taiwan
# residence permit has one region code only), the birth dates of people 20 to 100 years
# old on the appointment date (29,221 days) times the sequence codes 001-999, of which one
# in eleven has the shown check character, leave 2.65 million numbers (``id_candidates``:
# 2,653,791 at least, for region 810000). Sex and birth date are kept encrypted only.
# The other documents show their last character too: a Taiwan permit's 8 digits leave
# 10^7, a Hong Kong or Macao permit (H or M and 8 digits) 2 x 10^7, the shortest passport
# number (5 letters or digits) 36^4 = 1,679,616.
#
# Phones: a mainland mobile number shows its last three digits: 1, a second digit of 3-9
# and eight more digits hidden leave 7 x 10^7 (5 x 10^6 counting only the prefixes in use);
# any other number shows its last digit (at least 6 hidden digits: 10^6).


def mask_id_number(value: str) -> str:
    """``440103199001011234`` → ``*****************4``."""
    return "*" * (len(value) - 1) + value[-1:]


def mask_phone(value: str) -> str:
    """``13812345678`` → ``********678``."""
    digits = value.strip()
    shown = 3 if len(digits) == 11 and digits.startswith("1") else 1
    return "*" * (len(digits) - shown) + digits[-shown:]


def id_candidates(region: str, shown_check: str, born_from: date, born_to: date) -> int:
    """How many resident ID numbers of ``region`` born in [born_from, born_to] (sequence
    001-999) end with ``shown_check``: exact, by the residues of the weighted digit sums."""
    def residue(digits: str, weights: tuple[int, ...]) -> int:
        return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11

    base = residue(region, WEIGHTS[:6])
    by_date = [0] * 11
    day = born_from
    while day <= born_to:
        by_date[residue(day.strftime("%Y%m%d"), WEIGHTS[6:14])] += 1
        day += timedelta(days=1)
    by_sequence = [0] * 11
    for n in range(1, 1000):
        by_sequence[residue(f"{n:03d}", WEIGHTS[14:17])] += 1
    return sum(by_date[a] * by_sequence[b] for a in range(11) for b in range(11)
               if CHECK_CHARACTERS[(base + a + b) % 11] == shown_check)
