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

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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


def mask_id_number(value: str) -> str:
    """``440103199001011234`` → ``4401**********1234``; short documents keep less."""
    if len(value) >= 12:
        return value[:4] + "*" * (len(value) - 8) + value[-4:]
    if len(value) > 4:
        return value[:1] + "*" * (len(value) - 3) + value[-2:]
    return "*" * len(value)


def mask_phone(value: str) -> str:
    """``13812345678`` → ``138****5678``."""
    digits = value.strip()
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * len(digits)
