"""Join codes, student tokens and teacher keys (stdlib only).

A teacher key is shown once and stored as a salted scrypt hash (hashlib), compared in
constant time (hmac.compare_digest). A class server can fix one key for every challenge
through ``$PRUNING_TEACHER_KEY`` instead. Join codes are short and easy to read aloud
(no 0/O, 1/I/L); student tokens are long random strings, stored as sha256 (they carry
128 bits of entropy, so a fast hash is enough).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

TEACHER_KEY_ENV = "PRUNING_TEACHER_KEY"
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
# scrypt cost: ~50 ms and 16 MiB per check, so guessing keys offline is slow
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_SCHEME = "scrypt"


def new_join_code(length: int = CODE_LENGTH) -> str:
    """A random code like 'K7QM2X' from an alphabet without look-alike characters."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalize_code(code: str) -> str:
    """What a student typed -> the stored form (upper case, spaces and dashes dropped)."""
    return "".join(ch for ch in str(code).upper() if ch.isalnum())


def new_secret() -> str:
    """A fresh teacher key or student token (22 URL-safe characters, 128 bits)."""
    return secrets.token_urlsafe(16)


def hash_key(key: str, salt: bytes | None = None) -> str:
    """'scrypt$n$r$p$salt_hex$hash_hex' for ``key`` (a fresh 16-byte salt unless given)."""
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.scrypt(key.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"{_SCHEME}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_key(key: str, stored: str) -> bool:
    """True when ``key`` hashes to ``stored`` (constant-time compare; False on any bad input)."""
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        if scheme != _SCHEME:
            return False
        got = hashlib.scrypt(str(key).encode(), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r),
                             p=int(p), dklen=len(digest_hex) // 2)
    except (ValueError, TypeError, AttributeError):
        return False
    return hmac.compare_digest(got, bytes.fromhex(digest_hex))


def env_teacher_key() -> str | None:
    """The class server's teacher key from ``$PRUNING_TEACHER_KEY`` (None when unset or empty)."""
    value = os.environ.get(TEACHER_KEY_ENV, "").strip()
    return value or None


def matches_env_key(key: str) -> bool:
    """True when ``$PRUNING_TEACHER_KEY`` is set and ``key`` equals it (constant time)."""
    env = env_teacher_key()
    return env is not None and hmac.compare_digest(str(key).encode(), env.encode())


def token_digest(token: str) -> str:
    """sha256 hex of a student token (what the database keeps)."""
    return hashlib.sha256(str(token).encode()).hexdigest()
