"""Accounts of the seed-001 generation API: scrypt password hashes and expiring bearer tokens.

Passwords are hashed with scrypt (hashlib, RFC 7914; N=2^14, r=8, p=1, 16-byte salt, 32-byte key), stored
as `scrypt$N$r$p$<salt b64>$<key b64>`. A login gives a JWT (HS256, keyed with NU3D_SECRET_KEY, audience
`nu3d-generate3d`, 1 h), which is what seed 001's client sends back as `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

import jwt
from sqlmodel import Session, select

from shop_app.models.generation_api import GenerationAccount

TOKEN_TTL_S = 3600
AUDIENCE = "nu3d-generate3d"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
MIN_PASSWORD = 8


class AccountError(ValueError):
    """The account cannot be created; the message says why."""


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    encode = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encode(salt).decode()}${encode(key).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def create_account(*, session: Session, email: str, password: str) -> GenerationAccount:
    email = email.strip().lower()
    if not _EMAIL.fullmatch(email):
        raise AccountError(f"{email!r} is not an email address")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    if session.exec(select(GenerationAccount).where(GenerationAccount.email == email)).first() is not None:
        raise AccountError(f"an account for {email} already exists")
    account = GenerationAccount(email=email, password_hash=hash_password(password))
    session.add(account)
    session.flush()
    return account


@functools.cache
def _dummy_hash() -> str:
    """A hash to compare against when the email is unknown, so both cases take the same time."""
    return hash_password("not-a-password", salt=b"\0" * 16)


def authenticate(*, session: Session, email: str, password: str) -> GenerationAccount | None:
    account = session.exec(
        select(GenerationAccount).where(GenerationAccount.email == email.strip().lower())
    ).first()
    if account is None or account.disabled_at is not None:
        verify_password(password, _dummy_hash())
        return None
    return account if verify_password(password, account.password_hash) else None


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int


def issue_token(account: GenerationAccount, secret: str, *, now: float | None = None) -> IssuedToken:
    issued = int(now if now is not None else time.time())
    claims = {"sub": str(account.id), "aud": AUDIENCE, "iat": issued, "exp": issued + TOKEN_TTL_S}
    return IssuedToken(jwt.encode(claims, secret, algorithm="HS256"), TOKEN_TTL_S)


def verify_token(token: str, secret: str) -> int | None:
    """The account id a valid, unexpired token names, or None."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], audience=AUDIENCE, options={"require": ["exp", "sub", "aud"]}
        )
        return int(claims["sub"])
    except (jwt.PyJWTError, ValueError, KeyError):
        return None
