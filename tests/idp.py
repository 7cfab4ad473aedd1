"""A stand-in identity provider for tests: real RSA/EC keys, a JWK Set served over HTTP on loopback, tokens.

    with IdentityProvider() as idp:          # JWKS at idp.jwks_url (port 0, read back)
        key = idp.add_key("ES256")           # published in the set
        token = idp.token(key, sub="user_1", email="a@example.com")

`idp.fetches` counts GETs of the key set (so tests can see caching and refetch-on-unknown-kid).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ISSUER = "https://idp.test.example"


@dataclass
class SigningKey:
    kid: str
    alg: str
    private_key: Any

    def public_jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.alg)
        jwk = json.loads(algorithm.to_jwk(self.private_key.public_key()))
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}


def make_key(alg: str, kid: str | None = None) -> SigningKey:
    if alg.startswith(("RS", "PS")):
        private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    elif alg == "ES384":
        private = ec.generate_private_key(ec.SECP384R1())
    else:
        raise ValueError(alg)
    return SigningKey(kid=kid or f"{alg.lower()}-{uuid.uuid4().hex[:8]}", alg=alg, private_key=private)


class IdentityProvider:
    """Publishes the public halves of `keys` at /.well-known/jwks.json; signs tokens with the private halves."""

    def __init__(self, issuer: str = ISSUER) -> None:
        self.issuer = issuer
        self.keys: list[SigningKey] = []
        self.fetches = 0
        self.status = 200  # set to 500 to play an outage
        self._lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                with provider._lock:
                    provider.fetches += 1
                    body = json.dumps({"keys": [k.public_jwk() for k in provider.keys]}).encode()
                    status = provider.status
                if self.path != "/.well-known/jwks.json":
                    status, body = 404, b"{}"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.jwks_url = f"http://127.0.0.1:{self.port}/.well-known/jwks.json"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> IdentityProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_key(self, alg: str = "RS256", kid: str | None = None) -> SigningKey:
        key = make_key(alg, kid)
        with self._lock:
            self.keys.append(key)
        return key

    def remove_key(self, key: SigningKey) -> None:
        with self._lock:
            self.keys.remove(key)

    def token(
        self,
        key: SigningKey,
        *,
        sub: str | None = "user_2abc",
        ttl_s: float = 300,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {"iss": self.issuer, "iat": now, "nbf": now, "exp": now + int(ttl_s)}
        if sub is not None:
            payload["sub"] = sub
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(
            payload, key.private_key, algorithm=key.alg, headers={"kid": key.kid, **(headers or {})}
        )


def hs256_token(secret: str, *, sub: str | None = "user_2abc", ttl_s: float = 300, **claims: Any) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {"iss": ISSUER, "iat": now, "exp": now + int(ttl_s), "sub": sub, **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, secret, algorithm="HS256")
