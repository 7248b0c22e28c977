"""Local-disk storage whose `/assets/` URLs are signed and expire, like the clouds'."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import posixpath
import time
import uuid
from functools import lru_cache
from urllib.parse import urljoin

from django.conf import settings
from django.core import signing
from django.core.files.base import File
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible
from django.utils.encoding import filepath_to_uri

# A salt of its own: no other signed value of the project can pass for an asset link.
_SALT = "gatehouse.assets"


def _signed_value(name: str, expires: int) -> str:
    return f"{name}\n{expires}"


def asset_signature(name: str, *, expires: int) -> str:
    """The HMAC that lets `/assets/<name>` be served until `expires` (Unix time):
    Signer(salt=_SALT).signature(), from a key derived once rather than per link
    (a page of the resource list signs one link per file)."""
    mac = _asset_hmac(settings.SECRET_KEY).copy()
    mac.update(_signed_value(name, expires).encode())
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


@lru_cache(maxsize=4)
def _asset_hmac(secret_key: str) -> hmac.HMAC:
    # django.utils.crypto.salted_hmac(_SALT + "signer", ..., secret_key, "sha256").
    key = hashlib.sha256(f"{_SALT}signer{secret_key}".encode()).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def asset_link_valid(name: str, *, expires: str, signature: str) -> bool:
    """Whether a link's signature matches `name` and its expiry has not passed."""
    if not (expires.isascii() and expires.isdigit()) or int(expires) < time.time():
        return False
    try:
        # unsign() also accepts signatures made with SECRET_KEY_FALLBACKS.
        signing.Signer(salt=_SALT).unsign(
            f"{_signed_value(name, int(expires))}:{signature}"
        )
    except signing.BadSignature:
        return False
    return True


def asset_link(name: str) -> str:
    """A signed `/assets/` link to a stored name whatever the storage: how the
    variants of S3 and GCS files are reached (core/image_variants.py)."""
    expires = int(time.time()) + settings.FILE_URL_EXPIRE_SECONDS
    signature = asset_signature(name, expires=expires)
    path = filepath_to_uri(name)
    return f"{settings.MEDIA_URL}{path}?expires={expires}&signature={signature}"


@deconstructible(path="core.storage.local.SignedFileSystemStorage")
class SignedFileSystemStorage(FileSystemStorage):
    def _save(self, name: str, content: File) -> str:
        # Written under a hidden name and linked into place complete: a write that
        # fails (a full disk) leaves no file behind, under either name. A process
        # killed mid-write leaves a .partial- file, an orphan purge_orphan_files
        # removes.
        partial = posixpath.join(
            posixpath.dirname(name), f".partial-{uuid.uuid4().hex}"
        )
        # Streamed, never moved: Django's move across file systems (from the
        # upload's temporary file) ignores short writes, so a full disk would
        # keep a truncated file without an error.
        streamed = File(content.file if hasattr(content, "file") else content)
        try:
            partial = super()._save(partial, streamed)  # type: ignore[misc]  # not in the stubs
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path(partial))
            raise
        try:
            while True:
                try:
                    os.link(self.path(partial), self.path(name))
                    return name
                except FileExistsError:
                    name = self.get_available_name(name)
        finally:
            os.remove(self.path(partial))

    def url(self, name: str | None, *, expires: int | None = None) -> str:
        if expires is None:
            expires = int(time.time()) + settings.FILE_URL_EXPIRE_SECONDS
        if self.base_url is None:
            raise ValueError("This file is not accessible via a URL.")
        return _signed_url(self.base_url, name or "", expires, settings.SECRET_KEY)


# Remembered: within a second every answer that links a file signs the same
# (name, expiry), 20 times on a page of the resource list. The key is part of
# the cache's key, so a new SECRET_KEY signs anew.
@lru_cache(maxsize=1024)
def _signed_url(base_url: str, name: str, expires: int, secret_key: str) -> str:
    # The signature is URL-safe base64: nothing to quote (urlencode costs a fifth
    # of the URL).
    signature = asset_signature(name, expires=expires)
    return f"{_unsigned_url(base_url, name)}?expires={expires}&signature={signature}"


def _unsigned_url(base_url: str, name: str) -> str:
    """FileSystemStorage.url(): urljoin() of the base URL and the quoted name,
    which for a relative name with no dot segments is appending."""
    path = filepath_to_uri(name)
    if path and "/." not in f"/{path}" and base_url.endswith("/"):
        return base_url + path
    return urljoin(base_url, path.lstrip("/"))
