"""Where uploaded files live: every storage backend Gatehouse knows, in one table.

A row holds what the rest of the project asks of a backend: the name that picks it
(CLOUD_STORAGE_PROVIDER, or none for local disk), its import path in STORAGES, its
OPTIONS from the environment (core/storage/options.py), its label on the start page,
how /health probes it, and how its file URLs are signed. The backends themselves:
core/storage/local.py, core/storage/cloudinary.py, core/storage/gcs.py (django-storages'
GCS, bounded) and django-storages' S3.

Imported by config/settings.py: nothing here may need Django set up at import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from config.env import env_bool, env_str
from config.refusals import refuse
from core.storage import options

if TYPE_CHECKING:
    from django.core.files.storage import Storage

    from core.storage.cloudinary import CloudinaryStorage
    from core.storage.gcs import BoundedGoogleCloudStorage


@dataclass(frozen=True)
class Backend:
    provider: str  # CLOUD_STORAGE_PROVIDER's value; "" for local disk
    path: str  # STORAGES["default"]["BACKEND"]
    label: str
    options: Callable[[], dict] | None  # None: MEDIA_ROOT and MEDIA_URL decide
    # Raises when the backend does not answer; takes the row's own storage class.
    probe: Callable[[Any], object]
    url_signing: str


def _list_root(storage: Storage) -> object:
    return storage.listdir("")  # disk or S3: one listing of the root


def _list_one_blob(storage: BoundedGoogleCloudStorage) -> object:
    # The client's default retry keeps a refused connection going for 2 minutes.
    return list(storage.bucket.list_blobs(max_results=1, retry=None, timeout=5))


def _ping(storage: CloudinaryStorage) -> None:
    storage.ping()  # listing would page through every asset, rate-limited


LOCAL = Backend(
    provider="",
    path="core.storage.local.SignedFileSystemStorage",
    label="local disk",
    options=None,
    probe=_list_root,
    url_signing="an HMAC of the name and expiry, checked by /assets/",
)
S3 = Backend(
    provider="s3",
    path="storages.backends.s3.S3Storage",
    label="S3 (or S3-compatible)",
    options=options.s3_options,
    probe=_list_root,
    url_signing="presigned by the bucket's keys (SigV4)",
)
GCS = Backend(
    provider="gcs",
    path="core.storage.gcs.BoundedGoogleCloudStorage",
    label="Google Cloud Storage",
    options=options.gcs_options,
    probe=_list_one_blob,
    url_signing="V4-signed with the service-account key",
)
CLOUDINARY = Backend(
    provider="cloudinary",
    path="core.storage.cloudinary.CloudinaryStorage",
    label="Cloudinary",
    options=options.cloudinary_options,
    probe=_ping,
    url_signing="private download URLs that expire",
)
BACKENDS = (LOCAL, S3, GCS, CLOUDINARY)
CLOUD_PROVIDERS = {
    backend.provider: backend for backend in BACKENDS if backend.provider
}


def backend_named(path: str) -> Backend | None:
    """The row for a STORAGES backend path, or None for one this table lacks."""
    return next((backend for backend in BACKENDS if backend.path == path), None)


def default_storage_config() -> dict:
    """STORAGES["default"]: local disk unless USE_CLOUD_STORAGE picks a provider."""
    if not env_bool("USE_CLOUD_STORAGE", default=False):
        # No OPTIONS: the backend follows MEDIA_ROOT and MEDIA_URL (/assets/).
        return {"BACKEND": LOCAL.path}
    provider = env_str("CLOUD_STORAGE_PROVIDER").lower()
    backend = CLOUD_PROVIDERS.get(provider)
    if backend is None:
        refuse(
            "CLOUD_STORAGE_PROVIDER must be s3, gcs or cloudinary when "
            f"USE_CLOUD_STORAGE=true, not {provider!r}"
        )
    backend_options = backend.options
    assert backend_options is not None  # noqa: S101 (every cloud row has OPTIONS)
    return {"BACKEND": backend.path, "OPTIONS": backend_options()}
