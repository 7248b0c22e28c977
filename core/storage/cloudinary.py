"""A Django storage over the official Cloudinary SDK (upload, Admin and delivery APIs).

django-cloudinary-storage has been unmaintained since 2020, hence this small backend.
"""

from __future__ import annotations

import posixpath
import tempfile
import time
from datetime import datetime
from typing import IO, Any

import cloudinary.api
import cloudinary.exceptions
import cloudinary.uploader
import cloudinary.utils
import requests
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import File
from django.core.files.storage import Storage
from django.utils import timezone
from django.utils.deconstruct import deconstructible

IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "gif", "webp"})
# Private assets are not delivered by their plain CDN URL; they are fetched through
# signed download links that expire.
DELIVERY_TYPE = "private"
RESOURCE_TYPES = ("image", "raw")
_ADMIN_PAGE_SIZE = 500  # the largest page the Admin API serves
_NAME_ATTEMPTS = 5
_PING_TIMEOUT = 5
_PING_REUSE_SECONDS = 60  # the Admin API is rate-limited per hour


def locate(name: str) -> tuple[str, str, str | None]:
    """The (resource_type, public_id, format) a storage name maps to."""
    root, extension = posixpath.splitext(name)
    extension = extension[1:].lower()
    if extension in IMAGE_EXTENSIONS:
        return "image", root, extension
    # Cloudinary keeps a raw file's extension only as part of its public_id.
    return "raw", name, None


def _name_of(resource: dict[str, Any]) -> str:
    if resource["resource_type"] == "image":
        return f"{resource['public_id']}.{resource['format']}"
    return resource["public_id"]


@deconstructible(path="core.storage.cloudinary.CloudinaryStorage")
class CloudinaryStorage(Storage):
    def __init__(
        self,
        *,
        cloud_name: str,
        api_key: str,
        api_secret: str,
        upload_prefix: str | None = None,
        secure_distribution: str | None = None,
        private_cdn: bool = False,
        url_expire_seconds: int = 900,
        timeout: float = 60,
    ) -> None:
        # Every call passes its configuration, so the SDK's global config (read
        # from the environment at import) never decides where files go.
        self._api = {
            "cloud_name": cloud_name,
            "api_key": api_key,
            "api_secret": api_secret,
            "upload_prefix": upload_prefix,
        }
        # Download links come from the API host, not a CDN; secure_distribution
        # and private_cdn only place the delivery URLs of image variants.
        self._delivery = {
            "cloud_name": cloud_name,
            "api_secret": api_secret,
            "secure_distribution": secure_distribution,
            "private_cdn": private_cdn,
        }
        self._url_expire_seconds = url_expire_seconds
        self._timeout = timeout
        self._last_ping = float("-inf")

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        # The upload refuses to replace an object (overwrite=False), which spares
        # an Admin API call per save; _save picks another name on a clash.
        if max_length is not None and len(name) > max_length:
            raise SuspiciousFileOperation(f"Storage name {name!r} is too long.")
        return name

    def _save(self, name: str, content: File) -> str:
        root, extension = posixpath.splitext(name)
        stream: IO[bytes] = getattr(content, "file", None) or content
        for _ in range(_NAME_ATTEMPTS):
            resource_type, public_id, _format = locate(name)
            if hasattr(stream, "seek"):
                stream.seek(0)
            result = cloudinary.uploader.upload(
                stream,
                public_id=public_id,
                resource_type=resource_type,
                type=DELIVERY_TYPE,
                overwrite=False,
                filename=posixpath.basename(name),
                timeout=self._timeout,
                **self._api,
            )
            if not result.get("existing"):
                return _name_of(result)
            name = self.get_alternative_name(root, extension)
        raise FileExistsError(f"No free name near {root}{extension} on Cloudinary")

    def _open(self, name: str, mode: str = "rb") -> File:
        if set(mode) - {"r", "b"}:
            raise ValueError("Cloudinary files are opened for reading only")
        response = requests.get(self.url(name), stream=True, timeout=self._timeout)
        with response:
            if response.status_code == requests.codes.not_found:
                raise FileNotFoundError(name)
            response.raise_for_status()
            spooled = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - File closes it
                max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE,
                dir=settings.FILE_UPLOAD_TEMP_DIR,
            )
            for chunk in response.iter_content(chunk_size=64 * 1024):
                spooled.write(chunk)
        spooled.seek(0)
        return File(spooled, name=name)

    def delete(self, name: str) -> None:
        resource_type, public_id, _format = locate(name)
        result = cloudinary.uploader.destroy(
            public_id,
            resource_type=resource_type,
            type=DELIVERY_TYPE,
            invalidate=True,
            timeout=self._timeout,
            **self._api,
        )
        if result.get("result") not in {"ok", "not found"}:
            raise OSError(f"Cloudinary did not delete {name}: {result}")

    def exists(self, name: str) -> bool:
        try:
            self._resource(name)
        except FileNotFoundError:
            return False
        return True

    def size(self, name: str) -> int:
        return int(self._resource(name)["bytes"])

    def get_created_time(self, name: str) -> datetime:
        created = datetime.fromisoformat(self._resource(name)["created_at"])
        return created if settings.USE_TZ else timezone.make_naive(created)

    # Stored objects are never replaced, so creation is the last modification.
    get_modified_time = get_created_time

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        prefix = f"{path.strip('/')}/" if path.strip("/") else ""
        folders: set[str] = set()
        files: list[str] = []
        for resource in self._resources(prefix):
            relative = _name_of(resource)[len(prefix) :]
            if "/" in relative:
                folders.add(relative.split("/", 1)[0])
            else:
                files.append(relative)
        return sorted(folders), sorted(files)

    def url(self, name: str | None, *, expires_at: int | None = None) -> str:
        """A signed download link (local HMAC, no API call) that expires."""
        if name is None:
            raise TypeError("A Cloudinary download link needs the file's name.")
        resource_type, public_id, file_format = locate(name)
        if expires_at is None:
            expires_at = int(time.time()) + self._url_expire_seconds
        return cloudinary.utils.private_download_url(
            public_id,
            file_format or "",
            resource_type=resource_type,
            type=DELIVERY_TYPE,
            expires_at=expires_at,
            **self._api,
        )

    def transformed_url(self, name: str, *, width: int, height: int, crop: bool) -> str:
        """A signed delivery URL of the image resized by Cloudinary: c_fill for a
        crop, c_limit to fit inside; a side given as 0 is left free."""
        _resource_type, public_id, file_format = locate(name)
        transformation = {
            "crop": "fill" if crop else "limit",
            **({"width": width} if width else {}),
            **({"height": height} if height else {}),
        }
        url, _options = cloudinary.utils.cloudinary_url(
            public_id,
            format=file_format,
            resource_type="image",
            type=DELIVERY_TYPE,
            sign_url=True,
            secure=True,
            transformation=[transformation],
            **self._delivery,
        )
        return url

    def ping(self) -> None:
        """Raises unless the Admin API answers; a recent success is reused."""
        if time.monotonic() - self._last_ping < _PING_REUSE_SECONDS:
            return
        cloudinary.api.ping(timeout=_PING_TIMEOUT, **self._api)
        self._last_ping = time.monotonic()

    def _resource(self, name: str) -> dict[str, Any]:
        resource_type, public_id, _format = locate(name)
        try:
            return cloudinary.api.resource(
                public_id,
                resource_type=resource_type,
                type=DELIVERY_TYPE,
                timeout=self._timeout,
                **self._api,
            )
        except cloudinary.exceptions.NotFound:
            raise FileNotFoundError(name) from None

    def _resources(self, prefix: str):
        for resource_type in RESOURCE_TYPES:
            cursor = None
            while True:
                page = cloudinary.api.resources(
                    resource_type=resource_type,
                    type=DELIVERY_TYPE,
                    max_results=_ADMIN_PAGE_SIZE,
                    timeout=self._timeout,
                    **({"prefix": prefix} if prefix else {}),
                    **({"next_cursor": cursor} if cursor else {}),
                    **self._api,
                )
                yield from page["resources"]
                if not (cursor := page.get("next_cursor")):
                    break
