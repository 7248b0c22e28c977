"""Each backend's OPTIONS from the environment, and the settings every backend shares.

Read while config/settings.py is imported: nothing here may need Django set up.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from config.env import env_bool, env_int, env_list, env_str
from config.refusals import Refusal, refuse

_CLOUDINARY_URL_OPTIONS = {"upload_prefix", "secure_distribution", "private_cdn"}
_PREFIX = re.compile(r"[a-z0-9][a-z0-9._-]*")


def file_url_expire_seconds() -> int:
    """How long a file URL handed out in an answer keeps working."""
    seconds = env_int("FILE_URL_EXPIRE_SECONDS", default=900)
    # S3 and GCS refuse to presign for longer than 7 days.
    if not 1 <= seconds <= 7 * 24 * 3600:
        refuse("FILE_URL_EXPIRE_SECONDS must be between 1 and 604800")
    return seconds


_THUMB_SIZE = re.compile(r"(0|[1-9]\d{0,3})x(0|[1-9]\d{0,3})(c?)")


def thumb_sizes() -> list[str]:
    """THUMB_SIZES: the image variant sizes, each WxH (one side may be 0) or WxHc."""
    sizes = env_list("THUMB_SIZES", default=["100x100", "300x300", "800x0"])
    for size in sizes:
        match = _THUMB_SIZE.fullmatch(size)
        if (
            not match
            or "0" in {match[1], match[2]}
            and (match[3] or match[1] == "0" == match[2])
        ):
            refuse(
                f"THUMB_SIZES: {size!r} is not WxH or WxHc (sides 1 to 9999; one "
                "side of WxH may be 0, meaning any)"
            )
    return sizes


def thumb_max_pixels() -> int:
    """THUMB_MAX_PIXELS: the most pixels an image may have to get variants."""
    pixels = env_int("THUMB_MAX_PIXELS", default=50_000_000)
    if pixels < 1:
        refuse("THUMB_MAX_PIXELS must be a positive number of pixels")
    return pixels


def storage_prefix(*, base_url: str) -> str:
    """The folder every stored key of this deployment starts with."""
    raw = env_str("STORAGE_PREFIX") or env_str("RENDER_SERVICE_NAME")
    if not raw:
        raw = re.sub(r"[^a-z0-9]+", "-", (urlsplit(base_url).hostname or "")).strip("-")
    prefix = raw.strip("/").lower()
    if not _PREFIX.fullmatch(prefix):
        refuse(
            "STORAGE_PREFIX must be one folder name of letters, digits, '.', '_' "
            f"or '-', not {raw!r}"
        )
    return prefix


def _required(name: str, *, provider: str, fallbacks: tuple[str, ...] = ()) -> str:
    for candidate in (name, *fallbacks):
        if value := env_str(candidate):
            return value
    either = f" (or {' or '.join(fallbacks)})" if fallbacks else ""
    raise Refusal(
        f"{name}{either} is not set; CLOUD_STORAGE_PROVIDER={provider} needs it"
    )


def _custom_domain() -> str | None:
    domain = env_str("CLOUD_STORAGE_CUSTOM_DOMAIN")
    if "/" in domain:
        refuse(
            "CLOUD_STORAGE_CUSTOM_DOMAIN must be a host name such as "
            f"cdn.example.com, not {domain!r}"
        )
    return domain or None


def s3_options() -> dict:
    if env_str("CLOUD_STORAGE_CUSTOM_DOMAIN"):
        # django-storages presigns custom-domain URLs only through CloudFront keys;
        # without them the URL would be a plain one to a private object.
        refuse(
            "CLOUD_STORAGE_CUSTOM_DOMAIN is not supported with s3: objects are "
            "private and their URLs are presigned against the bucket's endpoint"
        )
    options: dict[str, Any] = {
        "bucket_name": _required("CLOUD_STORAGE_BUCKET", provider="s3"),
        "access_key": _required(
            "CLOUD_STORAGE_ACCESS_KEY",
            provider="s3",
            fallbacks=("CLOUD_STORAGE_KEY", "AWS_ACCESS_KEY_ID"),
        ),
        "secret_key": _required(
            "CLOUD_STORAGE_SECRET_KEY",
            provider="s3",
            fallbacks=("CLOUD_STORAGE_SECRET", "AWS_SECRET_ACCESS_KEY"),
        ),
        "endpoint_url": env_str("CLOUD_STORAGE_ENDPOINT_URL") or None,
        "region_name": env_str("CLOUD_STORAGE_REGION") or None,
        # Private objects, reachable only through presigned, expiring URLs.
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": file_url_expire_seconds(),
        "file_overwrite": False,
    }
    endpoint = options["endpoint_url"]
    if endpoint and not endpoint.startswith(("https://", "http://")):
        refuse(f"CLOUD_STORAGE_ENDPOINT_URL must start with https://, not {endpoint!r}")
    addressing_style = env_str("CLOUD_STORAGE_ADDRESSING_STYLE") or None
    if addressing_style not in {None, "path", "virtual", "auto"}:
        refuse("CLOUD_STORAGE_ADDRESSING_STYLE must be path, virtual or auto")
    from botocore.config import Config

    limits = storage_timeouts()
    # With a client_config, django-storages reads neither its addressing_style nor
    # its signature_version option: both live here.
    options["client_config"] = Config(
        s3={"addressing_style": addressing_style},
        # SigV4 (botocore may pick V2): newer regions accept only V4 presigned URLs.
        signature_version="s3v4",
        connect_timeout=limits.connect,
        read_timeout=limits.read,
        retries={"total_max_attempts": limits.attempts, "mode": "standard"},
    )
    return options


@dataclass(frozen=True)
class StorageTimeouts:
    connect: int  # seconds to open a connection
    read: int  # seconds without a byte from the service
    attempts: int  # tries of one call, the first included


def storage_timeouts() -> StorageTimeouts:
    """How long a cloud storage call may take before the upload answers 503."""
    limits = StorageTimeouts(
        connect=env_int("CLOUD_STORAGE_CONNECT_TIMEOUT", default=5),
        read=env_int("CLOUD_STORAGE_TIMEOUT", default=10),
        attempts=env_int("CLOUD_STORAGE_ATTEMPTS", default=2),
    )
    if min(limits.connect, limits.read, limits.attempts) < 1:
        refuse(
            "CLOUD_STORAGE_CONNECT_TIMEOUT, CLOUD_STORAGE_TIMEOUT and "
            "CLOUD_STORAGE_ATTEMPTS must be at least 1"
        )
    return limits


def gcs_options() -> dict:
    if env_str("CLOUD_STORAGE_ENDPOINT_URL"):
        # django-storages' GCS backend has no API endpoint option; the client
        # library reads its own variable and then switches to anonymous access.
        refuse(
            "CLOUD_STORAGE_ENDPOINT_URL is for s3; for a GCS emulator set "
            "STORAGE_EMULATOR_HOST instead"
        )
    bucket = _required("CLOUD_STORAGE_BUCKET", provider="gcs")
    key_file = _required("GOOGLE_APPLICATION_CREDENTIALS", provider="gcs")
    if not os.path.isfile(key_file):
        refuse(f"GOOGLE_APPLICATION_CREDENTIALS names no file: {key_file}")
    domain = _custom_domain()
    limits = storage_timeouts()
    return {
        "bucket_name": bucket,
        # Loaded here, not found by the client: signing needs a service-account
        # key, and the client ignores credentials it finds when an emulator is set.
        "credentials": _gcs_credentials(key_file),
        "custom_endpoint": f"https://{domain}" if domain else None,
        "default_acl": None,
        "querystring_auth": True,
        "expiration": timedelta(seconds=file_url_expire_seconds()),
        "file_overwrite": False,
        "connect_timeout": limits.connect,
        "read_timeout": limits.read,
        "attempts": limits.attempts,
    }


def _gcs_credentials(key_file: str):
    from google.oauth2 import service_account

    try:
        return service_account.Credentials.from_service_account_file(key_file)
    except ValueError:
        # An authorized-user or external-account file holds no private key.
        refuse(
            "GOOGLE_APPLICATION_CREDENTIALS must be a service-account key file; "
            "signed file URLs need its private key"
        )


def cloudinary_options() -> dict:
    account = (
        _cloudinary_options_from_url(url)
        if (url := env_str("CLOUDINARY_URL"))
        else _cloudinary_options_from_variables()
    )
    return {
        **account,
        "url_expire_seconds": file_url_expire_seconds(),
        # One number for the SDK's urllib3 calls: connecting and each read.
        "timeout": storage_timeouts().read,
    }


def _cloudinary_options_from_variables() -> dict:
    options: dict[str, str | bool] = {
        "cloud_name": _required("CLOUDINARY_CLOUD_NAME", provider="cloudinary"),
        "api_key": _required(
            "CLOUDINARY_API_KEY",
            provider="cloudinary",
            fallbacks=("CLOUD_STORAGE_KEY",),
        ),
        "api_secret": _required(
            "CLOUDINARY_API_SECRET",
            provider="cloudinary",
            fallbacks=("CLOUD_STORAGE_SECRET",),
        ),
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
        refuse("CLOUDINARY_URL must look like cloudinary://API_KEY:API_SECRET@CLOUD")
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
        refuse(
            f"CLOUDINARY_URL option {unknown[0]} is not supported here "
            f"(only {', '.join(sorted(_CLOUDINARY_URL_OPTIONS))})"
        )
    flags: dict[str, bool] = {}
    if "private_cdn" in query:
        flags["private_cdn"] = query["private_cdn"].lower() in {"1", "true", "yes"}
    return {**options, **query, **flags}
