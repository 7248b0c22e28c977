"""Where uploaded files live: Django's STORAGES["default"], chosen from the environment."""

from __future__ import annotations

import os
from typing import NoReturn
from urllib.parse import parse_qs, urlsplit

from config.env import env_bool, env_str

FILESYSTEM = "django.core.files.storage.FileSystemStorage"
S3 = "storages.backends.s3.S3Storage"
GCS = "storages.backends.gcloud.GoogleCloudStorage"
CLOUDINARY = "core.cloudinary_storage.CloudinaryStorage"

_CLOUDINARY_URL_OPTIONS = {"upload_prefix", "secure_distribution", "private_cdn"}


def default_storage_config() -> dict:
    """Local disk under MEDIA_ROOT unless USE_CLOUD_STORAGE picks a provider."""
    if not env_bool("USE_CLOUD_STORAGE", default=False):
        # No OPTIONS: the backend follows MEDIA_ROOT and MEDIA_URL (/assets/).
        return {"BACKEND": FILESYSTEM}
    provider = env_str("CLOUD_STORAGE_PROVIDER").lower()
    providers = {
        "s3": (S3, _s3_options),
        "gcs": (GCS, _gcs_options),
        "cloudinary": (CLOUDINARY, _cloudinary_options),
    }
    if provider not in providers:
        _refuse(
            "CLOUD_STORAGE_PROVIDER must be s3, gcs or cloudinary when "
            f"USE_CLOUD_STORAGE=true, not {provider!r}"
        )
    backend, options = providers[provider]
    return {"BACKEND": backend, "OPTIONS": options()}


def _refuse(problem: str) -> NoReturn:
    raise SystemExit(f"Gatehouse refuses to start: {problem}.")


def _required(name: str, *, provider: str, fallback: str | None = None) -> str:
    value = env_str(name) or (env_str(fallback) if fallback else "")
    if not value:
        either = f" (or {fallback})" if fallback else ""
        _refuse(
            f"{name}{either} is not set; CLOUD_STORAGE_PROVIDER={provider} needs it"
        )
    return value


def _custom_domain() -> str | None:
    domain = env_str("CLOUD_STORAGE_CUSTOM_DOMAIN")
    if "/" in domain:
        _refuse(
            "CLOUD_STORAGE_CUSTOM_DOMAIN must be a host name such as "
            f"cdn.example.com, not {domain!r}"
        )
    return domain or None


def _s3_options() -> dict:
    options = {
        "bucket_name": _required("CLOUD_STORAGE_BUCKET", provider="s3"),
        "access_key": _required(
            "CLOUD_STORAGE_ACCESS_KEY", provider="s3", fallback="AWS_ACCESS_KEY_ID"
        ),
        "secret_key": _required(
            "CLOUD_STORAGE_SECRET_KEY", provider="s3", fallback="AWS_SECRET_ACCESS_KEY"
        ),
        "endpoint_url": env_str("CLOUD_STORAGE_ENDPOINT_URL") or None,
        "region_name": env_str("CLOUD_STORAGE_REGION") or None,
        "custom_domain": _custom_domain(),
        "addressing_style": env_str("CLOUD_STORAGE_ADDRESSING_STYLE") or None,
        "querystring_auth": env_bool("CLOUD_STORAGE_QUERYSTRING_AUTH", default=False),
        "file_overwrite": False,
    }
    endpoint = options["endpoint_url"]
    if endpoint and not endpoint.startswith(("https://", "http://")):
        _refuse(
            f"CLOUD_STORAGE_ENDPOINT_URL must start with https://, not {endpoint!r}"
        )
    if options["addressing_style"] not in {None, "path", "virtual", "auto"}:
        _refuse("CLOUD_STORAGE_ADDRESSING_STYLE must be path, virtual or auto")
    return options


def _gcs_options() -> dict:
    if env_str("CLOUD_STORAGE_ENDPOINT_URL"):
        # django-storages' GCS backend has no API endpoint option; the client
        # library reads its own variable and then switches to anonymous access.
        _refuse(
            "CLOUD_STORAGE_ENDPOINT_URL is for s3; for a GCS emulator set "
            "STORAGE_EMULATOR_HOST instead"
        )
    credentials = env_str("GOOGLE_APPLICATION_CREDENTIALS")
    if credentials and not os.path.isfile(credentials):
        _refuse(f"GOOGLE_APPLICATION_CREDENTIALS names no file: {credentials}")
    domain = _custom_domain()
    return {
        "bucket_name": _required("CLOUD_STORAGE_BUCKET", provider="gcs"),
        "custom_endpoint": f"https://{domain}" if domain else None,
        "querystring_auth": env_bool("CLOUD_STORAGE_QUERYSTRING_AUTH", default=False),
        "file_overwrite": False,
    }


def _cloudinary_options() -> dict:
    if url := env_str("CLOUDINARY_URL"):
        return _cloudinary_options_from_url(url)
    options = {
        "cloud_name": _required("CLOUDINARY_CLOUD_NAME", provider="cloudinary"),
        "api_key": _required("CLOUDINARY_API_KEY", provider="cloudinary"),
        "api_secret": _required("CLOUDINARY_API_SECRET", provider="cloudinary"),
    }
    if upload_prefix := env_str("CLOUDINARY_UPLOAD_PREFIX"):
        options["upload_prefix"] = upload_prefix
    if secure_distribution := env_str("CLOUDINARY_SECURE_DISTRIBUTION"):
        options["secure_distribution"] = secure_distribution
    if env_bool("CLOUDINARY_PRIVATE_CDN", default=False):
        options["private_cdn"] = True
    return options


def _cloudinary_options_from_url(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme != "cloudinary" or not (
        parts.hostname and parts.username and parts.password
    ):
        _refuse("CLOUDINARY_URL must look like cloudinary://API_KEY:API_SECRET@CLOUD")
    options: dict = {
        "cloud_name": parts.hostname,
        "api_key": parts.username,
        "api_secret": parts.password,
    }
    if parts.path.strip("/"):
        # The SDK's form for a private CDN: cloudinary://key:secret@cloud/cdn.host
        options.update(private_cdn=True, secure_distribution=parts.path.strip("/"))
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if unknown := sorted(set(query) - _CLOUDINARY_URL_OPTIONS):
        _refuse(
            f"CLOUDINARY_URL option {unknown[0]} is not supported here "
            f"(only {', '.join(sorted(_CLOUDINARY_URL_OPTIONS))})"
        )
    if "private_cdn" in query:
        query["private_cdn"] = query["private_cdn"].lower() in {"1", "true", "yes"}
    return {**options, **query}
