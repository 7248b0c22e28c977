"""Stand-ins for an identity provider's signing keys (Google's: RSA; external
providers': RSA, EC P-256 or Ed25519) and a real local JWKS server."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

# algorithm: (a new private key, the PyJWT class that writes its public JWK)
_ALGORITHMS: dict[str, tuple[Any, Any]] = {
    "RS256": (
        lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        RSAAlgorithm,
    ),
    "ES256": (lambda: ec.generate_private_key(ec.SECP256R1()), ECAlgorithm),
    "EdDSA": (ed25519.Ed25519PrivateKey.generate, OKPAlgorithm),
}


@dataclass
class SigningKey:
    """A key that signs tokens with a kid, RS256 (as Google does), ES256 or EdDSA."""

    kid: str
    algorithm: str = "RS256"
    private_key: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.private_key is None:
            self.private_key = _ALGORITHMS[self.algorithm][0]()

    def jwk(self) -> dict[str, str]:
        to_jwk = _ALGORITHMS[self.algorithm][1].to_jwk
        public = to_jwk(self.private_key.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def sign(self, claims: dict[str, Any], **headers: Any) -> str:
        return jwt.encode(
            claims,
            self.private_key,
            algorithm=self.algorithm,
            headers={"kid": self.kid, **headers},
        )


class JwksServer:
    """Serves a JWKS on 127.0.0.1 with a Cache-Control header and counts fetches."""

    def __init__(self, keys: list[SigningKey], *, max_age: int | None = 3600) -> None:
        self.keys = keys
        self.max_age = max_age
        self.fetches = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        # A short poll keeps shutdown() quick at each test's teardown.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        host = str(host)  # an IPv4 address: str, though the stubs allow bytes
        return f"http://{host}:{port}/oauth2/v3/certs"

    def start(self) -> JwksServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _body(self) -> bytes:
        with self._lock:
            self.fetches += 1
        return json.dumps({"keys": [key.jwk() for key in self.keys]}).encode()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                body = server._body()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(body)))
                if server.max_age is not None:  # None: no caching header at all
                    self.send_header(
                        "Cache-Control", f"public, max-age={server.max_age}"
                    )
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        return Handler
