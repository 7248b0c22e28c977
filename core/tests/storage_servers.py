"""Local servers for the cloud storage tests, and fixtures that point the env at them.

Each server runs in a thread on 127.0.0.1 for the whole session; each test gets a
clean bucket (or a wiped stand-in) and an environment naming only that server.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

import boto3
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.core.files.storage import Storage, default_storage

from core.storage import default_storage_config
from core.tests.fake_cloudinary import FakeCloudinary, FakeCloudinaryServer
from core.tests.served_app import free_port

STORAGE_VARIABLES = [
    "USE_CLOUD_STORAGE",
    "CLOUD_STORAGE_PROVIDER",
    "CLOUD_STORAGE_BUCKET",
    "CLOUD_STORAGE_ACCESS_KEY",
    "CLOUD_STORAGE_SECRET_KEY",
    "CLOUD_STORAGE_ENDPOINT_URL",
    "CLOUD_STORAGE_REGION",
    "CLOUD_STORAGE_CUSTOM_DOMAIN",
    "CLOUD_STORAGE_ADDRESSING_STYLE",
    "CLOUD_STORAGE_QUERYSTRING_AUTH",
    "CLOUD_STORAGE_CONNECT_TIMEOUT",
    "CLOUD_STORAGE_TIMEOUT",
    "CLOUD_STORAGE_ATTEMPTS",
    "CLOUD_STORAGE_KEY",
    "CLOUD_STORAGE_SECRET",
    "FILE_URL_EXPIRE_SECONDS",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "STORAGE_EMULATOR_HOST",
    "CLOUDINARY_URL",
    "CLOUDINARY_CLOUD_NAME",
    "CLOUDINARY_API_KEY",
    "CLOUDINARY_API_SECRET",
    "CLOUDINARY_UPLOAD_PREFIX",
    "CLOUDINARY_SECURE_DISTRIBUTION",
    "CLOUDINARY_PRIVATE_CDN",
]

S3_KEY, S3_SECRET, S3_REGION = "test-access-key", "test-secret-key", "us-east-1"


@pytest.fixture
def dead_endpoint() -> str:
    """An address on 127.0.0.1 that nothing listens on, so connections are refused."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def clean_storage_env(monkeypatch):
    for name in STORAGE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def storage_from_env(settings):
    """Builds STORAGES["default"] from the environment, as settings.py does."""

    def apply() -> Storage:
        settings.STORAGES = {**settings.STORAGES, "default": default_storage_config()}
        return default_storage  # Django rebuilds it when STORAGES changes

    return apply


# --- S3: moto's server mode -----------------------------------------------------
@pytest.fixture(scope="session")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(clean_storage_env, moto_endpoint) -> str:
    """A new, private bucket; returns its name."""
    bucket = f"gatehouse-{uuid.uuid4().hex[:12]}"
    _s3_client(moto_endpoint).create_bucket(Bucket=bucket)
    for name, value in {
        "USE_CLOUD_STORAGE": "true",
        "CLOUD_STORAGE_PROVIDER": "s3",
        "CLOUD_STORAGE_BUCKET": bucket,
        "CLOUD_STORAGE_ACCESS_KEY": S3_KEY,
        "CLOUD_STORAGE_SECRET_KEY": S3_SECRET,
        "CLOUD_STORAGE_ENDPOINT_URL": moto_endpoint,
        "CLOUD_STORAGE_REGION": S3_REGION,
    }.items():
        clean_storage_env.setenv(name, value)
    return bucket


@pytest.fixture
def s3_client(moto_endpoint):
    """A boto3 client of moto's server, for looking behind the storage."""
    return _s3_client(moto_endpoint)


def _s3_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
        region_name=S3_REGION,
    )


# --- GCS: gcp-storage-emulator --------------------------------------------------
GCS_BUCKET = "gatehouse-test"


class _TokenHandler(BaseHTTPRequestHandler):
    """Google's OAuth token endpoint, as far as a service-account key needs it."""

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps(
            {"access_token": "test-token", "expires_in": 3600, "token_type": "Bearer"}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="session")
def gcs_key(tmp_path_factory):
    """A throwaway service-account key (signing needs its private key); its token
    endpoint is a local stand-in. Returns (key file path, public key)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    key_file = tmp_path_factory.mktemp("gcs") / "service-account.json"
    key_file.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "gatehouse-test",
                "private_key_id": "throwaway",
                "private_key": pem,
                "client_email": "gatehouse@gatehouse-test.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": f"http://127.0.0.1:{server.server_address[1]}/token",
            }
        )
    )
    yield key_file, private_key.public_key()
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def gcs_emulator():
    from gcp_storage_emulator.server import create_server

    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=GCS_BUCKET)
    server.start()
    yield server, f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def gcs_url_refusal(gcs_key):
    """Checks a signed URL against the throwaway key: see _gcs_refusal."""
    _key_file, public_key = gcs_key

    def check(url: str, *, now: dt.datetime) -> str | None:
        return _gcs_refusal(url, public_key, now=now)

    return check


def _gcs_refusal(url: str, public_key, *, now: dt.datetime) -> str | None:
    """Why GCS would refuse a V4 signed GET URL (None if it would serve it),
    checked as GCS does, since the emulator checks no signature at all."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    signature = bytes.fromhex(query.pop("X-Goog-Signature", ""))
    canonical_query = "&".join(
        sorted(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in query.items())
    )
    canonical_request = "\n".join(
        ["GET", parts.path, canonical_query, f"host:{parts.netloc}\n", "host"]
        + ["UNSIGNED-PAYLOAD"]
    )
    scope = query["X-Goog-Credential"].split("/", 1)[1]
    string_to_sign = "\n".join(
        [
            "GOOG4-RSA-SHA256",
            query["X-Goog-Date"],
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    try:
        public_key.verify(
            signature, string_to_sign.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature:
        return "signature"
    signed_at = dt.datetime.strptime(f"{query['X-Goog-Date']}+0000", "%Y%m%dT%H%M%SZ%z")
    lifetime = dt.timedelta(seconds=int(query["X-Goog-Expires"]))
    if now > signed_at + lifetime:
        return "expired"
    return None


@pytest.fixture
def gcs_env(clean_storage_env, gcs_emulator, gcs_key) -> str:
    """An emptied bucket; the client library finds the emulator through its own variable."""
    server, endpoint = gcs_emulator
    server.wipe(keep_buckets=True)
    for name, value in {
        "USE_CLOUD_STORAGE": "true",
        "CLOUD_STORAGE_PROVIDER": "gcs",
        "CLOUD_STORAGE_BUCKET": GCS_BUCKET,
        "STORAGE_EMULATOR_HOST": endpoint,
        "GOOGLE_APPLICATION_CREDENTIALS": str(gcs_key[0]),
    }.items():
        clean_storage_env.setenv(name, value)
    return GCS_BUCKET


# --- Cloudinary: the stand-in in fake_cloudinary.py -----------------------------
@pytest.fixture(scope="session")
def cloudinary_server(tmp_path_factory):
    fake = FakeCloudinary(
        cloud_name="gatehouse-test", api_key="123456789", api_secret="test-api-secret"
    )
    server = FakeCloudinaryServer(fake, tmp_path_factory.mktemp("cloudinary"))
    server.start()
    yield fake
    server.stop()


@pytest.fixture
def cloudinary_env(clean_storage_env, cloudinary_server) -> FakeCloudinary:
    """The wiped stand-in; its delivery certificate is trusted for this test."""
    fake = cloudinary_server
    fake.assets.clear()
    fake.received.clear()
    fake.page_size = 500
    for name, value in {
        "USE_CLOUD_STORAGE": "true",
        "CLOUD_STORAGE_PROVIDER": "cloudinary",
        "CLOUDINARY_URL": fake.cloudinary_url(),
        "REQUESTS_CA_BUNDLE": str(fake.certificate),
    }.items():
        clean_storage_env.setenv(name, value)
    return fake
