"""Local-disk storage whose `/assets/` URLs are signed and expire, like the clouds'."""

from __future__ import annotations

import time

from django.conf import settings
from django.core import signing
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible

# A salt of its own: no other signed value of the project can pass for an asset link.
_SALT = "gatehouse.assets"


def _signed_value(name: str, expires: int) -> str:
    return f"{name}\n{expires}"


def asset_signature(name: str, *, expires: int) -> str:
    """The HMAC that lets `/assets/<name>` be served until `expires` (Unix time)."""
    signed = signing.Signer(salt=_SALT).sign(_signed_value(name, expires))
    return signed.rsplit(":", 1)[1]


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


@deconstructible(path="core.local_storage.SignedFileSystemStorage")
class SignedFileSystemStorage(FileSystemStorage):
    def url(self, name: str | None, *, expires: int | None = None) -> str:
        if expires is None:
            expires = int(time.time()) + settings.FILE_URL_EXPIRE_SECONDS
        # The signature is URL-safe base64: nothing to quote (urlencode costs
        # a fifth of the URL, 100 times on a page of the resource list).
        signature = asset_signature(name, expires=expires)
        return f"{super().url(name)}?expires={expires}&signature={signature}"
