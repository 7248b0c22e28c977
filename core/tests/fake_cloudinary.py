"""A local stand-in for Cloudinary's upload, destroy, Admin and delivery APIs.

The API listener speaks plain HTTP (the SDK is pointed at it with upload_prefix);
delivery speaks HTTPS with a self-signed certificate, and serves only public
(`upload`) assets, as the CDN does. Uploads and signed download links
(`private_download_url`) are checked like Cloudinary checks them: the api_key must
match, the signature must be the SDK's signature over the fields, and a download
link is refused once its `expires_at` has passed.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import mimetypes
import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from cloudinary.utils import api_sign_request
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_DELIVERY = re.compile(
    r"^/(?P<cloud>[^/]+)/(?P<kind>image|raw)/upload/(v\d+/)?(?P<id>.+)$"
)


@dataclass
class Asset:
    public_id: str
    resource_type: str
    format: str
    data: bytes
    version: int
    created_at: str
    type: str = "upload"


@dataclass
class Received:
    method: str
    path: str
    fields: dict[str, str]
    authorization: str | None


@dataclass
class FakeCloudinary:
    cloud_name: str
    api_key: str
    api_secret: str
    assets: dict[tuple[str, str], Asset] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    page_size: int = 500
    api_url: str = ""
    delivery_host: str = ""
    certificate: Path | None = None

    def cloudinary_url(self, *, upload_prefix: str = "", secret: str = "") -> str:
        """A CLOUDINARY_URL that sends the SDK here (or to upload_prefix)."""
        query = urlencode(
            {
                "upload_prefix": upload_prefix or self.api_url,
                "secure_distribution": self.delivery_host,
            }
        )
        key, secret = self.api_key, secret or self.api_secret
        return f"cloudinary://{key}:{secret}@{self.cloud_name}?{query}"

    def secure_url(self, asset: Asset) -> str:
        suffix = f".{asset.format}" if asset.resource_type == "image" else ""
        return (
            f"https://{self.delivery_host}/{self.cloud_name}/{asset.resource_type}"
            f"/{asset.type}/v{asset.version}/{asset.public_id}{suffix}"
        )

    def describe(self, asset: Asset) -> dict:
        return {
            "asset_id": f"{asset.resource_type}-{asset.public_id}",
            "public_id": asset.public_id,
            "version": asset.version,
            "format": asset.format,
            "resource_type": asset.resource_type,
            "type": asset.type,
            "created_at": asset.created_at,
            "bytes": len(asset.data),
            "url": self.secure_url(asset).replace("https://", "http://", 1),
            "secure_url": self.secure_url(asset),
        }


@dataclass
class Upload:
    fields: dict[str, str]
    file: bytes | None = None
    filename: str = ""


def _multipart(content_type: str, body: bytes) -> Upload:
    message = BytesParser(policy=policy.default).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    upload = Upload(fields={})
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):  # None: a part with no body
            payload = b""
        if name == "file":
            upload.file, upload.filename = payload, part.get_filename() or ""
        elif isinstance(name, str):
            upload.fields[name] = payload.decode()
    return upload


Reply = tuple[int, dict]


def _error(status: int, message: str) -> Reply:
    return status, {"error": {"message": message}}


class _ApiHandler(BaseHTTPRequestHandler):
    fake: FakeCloudinary

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        self._answer(*self._post())

    def do_GET(self):
        if (self._route() or [None])[1:] == ["download"]:
            self._download()
        else:
            self._answer(*self._get())

    def _download(self) -> None:
        """Serves a private asset for a signed, unexpired private_download_url."""
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        self.fake.received.append(Received("GET", self.path, query, None))
        signed = {k: v for k, v in query.items() if k not in {"api_key", "signature"}}
        valid = query.get("api_key") == self.fake.api_key and query.get(
            "signature"
        ) == api_sign_request(signed, self.fake.api_secret)
        # Cloudinary's default lifetime for a download link is one hour.
        expires_at = int(query.get("expires_at") or int(query["timestamp"]) + 3600)
        if not valid or time.time() > expires_at:
            self._answer(*_error(HTTPStatus.UNAUTHORIZED, "Invalid or expired link"))
            return
        route = self._route()
        assert route is not None  # do_GET routed the download here
        resource_type = route[0]
        asset = self.fake.assets.get((resource_type, query.get("public_id", "")))
        if (
            asset is None
            or asset.type != query.get("type", "upload")
            or asset.format != query.get("format", "").replace("jpeg", "jpg")
        ):
            self._answer(*_error(HTTPStatus.NOT_FOUND, "Resource not found"))
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", _content_type(asset))
        self.send_header("Content-Length", str(len(asset.data)))
        self.end_headers()
        self.wfile.write(asset.data)

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> list[str] | None:
        parts = urlsplit(self.path).path.strip("/").split("/")
        return parts[2:] if parts[:2] == ["v1_1", self.fake.cloud_name] else None

    def _post(self) -> Reply:
        length = int(self.headers.get("Content-Length", 0))
        upload = _multipart(self.headers["Content-Type"], self.rfile.read(length))
        fields = upload.fields
        self.fake.received.append(
            Received("POST", self.path, fields, self.headers.get("Authorization"))
        )
        signed = {k: v for k, v in fields.items() if k not in {"api_key", "signature"}}
        if fields.get("api_key") != self.fake.api_key:
            return _error(HTTPStatus.UNAUTHORIZED, "Invalid api_key")
        if fields.get("signature") != api_sign_request(signed, self.fake.api_secret):
            return _error(HTTPStatus.UNAUTHORIZED, "Invalid Signature")
        match self._route():
            case [resource_type, "upload"]:
                return self._upload(resource_type, upload)
            case [resource_type, "destroy"]:
                key = (resource_type, fields["public_id"])
                found = self.fake.assets.get(key)
                if found is None or found.type != fields.get("type", "upload"):
                    return HTTPStatus.OK, {"result": "not found"}
                del self.fake.assets[key]
                return HTTPStatus.OK, {"result": "ok"}
        return _error(HTTPStatus.NOT_FOUND, "Unknown API")

    def _upload(self, resource_type: str, upload: Upload) -> Reply:
        fields = upload.fields
        if upload.file is None:
            return _error(HTTPStatus.BAD_REQUEST, "Missing required parameter - file")
        public_id = fields["public_id"]
        existing = self.fake.assets.get((resource_type, public_id))
        if existing and fields.get("overwrite") in {"0", "false"}:
            return HTTPStatus.OK, {**self.fake.describe(existing), "existing": True}
        file_format = ""
        if resource_type == "image":
            extension = upload.filename.rsplit(".", 1)[-1].lower()
            file_format = "jpg" if extension == "jpeg" else extension
        asset = Asset(
            public_id=public_id,
            resource_type=resource_type,
            format=file_format,
            data=upload.file,
            version=int(fields["timestamp"]),
            created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            type=fields.get("type", "upload"),
        )
        self.fake.assets[(resource_type, public_id)] = asset
        return HTTPStatus.OK, {**self.fake.describe(asset), "existing": False}

    def _get(self) -> Reply:
        self.fake.received.append(
            Received("GET", self.path, {}, self.headers.get("Authorization"))
        )
        expected = base64.b64encode(
            f"{self.fake.api_key}:{self.fake.api_secret}".encode()
        ).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            return _error(HTTPStatus.UNAUTHORIZED, "Invalid credentials")
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        match self._route():
            case ["ping"]:
                return HTTPStatus.OK, {"status": "ok"}
            case ["resources", resource_type, kind]:
                return self._list(resource_type, kind, query)
            case ["resources", resource_type, kind, *public_id]:
                asset = self.fake.assets.get((resource_type, "/".join(public_id)))
                if asset is None or asset.type != kind:
                    return _error(HTTPStatus.NOT_FOUND, "Resource not found")
                return HTTPStatus.OK, self.fake.describe(asset)
        return _error(HTTPStatus.NOT_FOUND, "Unknown API")

    def _list(self, resource_type: str, kind: str, query: dict[str, str]) -> Reply:
        prefix = query.get("prefix", "")
        matching = sorted(
            (
                asset
                for (asset_resource_type, public_id), asset in self.fake.assets.items()
                if asset_resource_type == resource_type
                and asset.type == kind
                and public_id.startswith(prefix)
            ),
            key=lambda asset: asset.public_id,
        )
        start = int(query.get("next_cursor", 0))
        size = min(int(query.get("max_results", 10)), self.fake.page_size)
        page = matching[start : start + size]
        body: dict[str, Any] = {
            "resources": [self.fake.describe(asset) for asset in page]
        }
        if start + size < len(matching):
            body["next_cursor"] = str(start + size)
        return HTTPStatus.OK, body


def _content_type(asset: Asset) -> str:
    content_type = mimetypes.guess_type(f"x.{asset.format}")[0]
    if asset.resource_type == "raw":
        content_type = mimetypes.guess_type(asset.public_id)[0]
    return content_type or "application/octet-stream"


class _DeliveryHandler(BaseHTTPRequestHandler):
    fake: FakeCloudinary

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        match = _DELIVERY.match(urlsplit(self.path).path)
        asset = None
        if match and match["cloud"] == self.fake.cloud_name:
            public_id = match["id"]
            if match["kind"] == "image":
                public_id = public_id.rsplit(".", 1)[0]
            asset = self.fake.assets.get((match["kind"], public_id))
        if asset is None or asset.type != "upload":
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", _content_type(asset))
        self.send_header("Content-Length", str(len(asset.data)))
        self.end_headers()
        self.wfile.write(asset.data)


def _self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "delivery.pem", folder / "delivery.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class FakeCloudinaryServer:
    """Runs the stand-in's two listeners on 127.0.0.1 in background threads."""

    def __init__(self, fake: FakeCloudinary, folder: Path) -> None:
        self.fake = fake
        api_handler = type("Api", (_ApiHandler,), {"fake": fake})
        delivery_handler = type("Delivery", (_DeliveryHandler,), {"fake": fake})
        self._api = ThreadingHTTPServer(("127.0.0.1", 0), api_handler)
        self._delivery = ThreadingHTTPServer(("127.0.0.1", 0), delivery_handler)
        cert_path, key_path = _self_signed_certificate(folder)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        self._delivery.socket = context.wrap_socket(
            self._delivery.socket, server_side=True
        )
        fake.api_url = f"http://127.0.0.1:{self._api.server_address[1]}"
        fake.delivery_host = f"127.0.0.1:{self._delivery.server_address[1]}"
        fake.certificate = cert_path
        self._threads = [
            threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            for server in (self._api, self._delivery)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        for server in (self._api, self._delivery):
            server.shutdown()
            server.server_close()
