"""Resized variants of stored images: `?thumb=WxH` (fit) or `?thumb=WxHc` (crop).

Only the sizes in THUMB_SIZES are made, once each, with Pillow, and stored beside
the original as `<original name>.thumbs/<size>.webp`, so that they share its
STORAGE_PREFIX folder and go with it (core/file_deletions.py). Local disk serves
them from the original's signed `/assets/` link; S3 and GCS get a signed
`/assets/` link of their own that makes the variant and redirects to the bucket's
presigned URL; Cloudinary makes its own, from transformation URLs.
"""

from __future__ import annotations

import io
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from PIL import Image, ImageOps, UnidentifiedImageError

from core.file_types import EXTENSIONS, IMAGE_TYPES
from core.storage.local import SignedFileSystemStorage, asset_link

VARIANTS_SUFFIX = ".thumbs"
IMAGE_EXTENSIONS = frozenset(EXTENSIONS[content_type] for content_type in IMAGE_TYPES)
_WEBP_QUALITY = 82
_ANY = 1 << 16  # a fitted side given as 0: no bound


class VariantError(Exception):
    """A variant that cannot be made from this original."""


class ImageTooLarge(VariantError):
    """More pixels than THUMB_MAX_PIXELS: decoding it could exhaust memory."""


class ImageUnreadable(VariantError):
    """Bytes Pillow cannot decode as an image."""


@dataclass(frozen=True)
class ThumbSize:
    label: str  # as written in THUMB_SIZES and ?thumb=
    width: int  # 0: any
    height: int
    crop: bool


def thumb_sizes() -> dict[str, ThumbSize]:
    """The allowed sizes by label, from THUMB_SIZES (checked by config/settings.py)."""
    return _parsed_sizes(tuple(settings.THUMB_SIZES))


@lru_cache(maxsize=4)
def _parsed_sizes(labels: tuple[str, ...]) -> dict[str, ThumbSize]:
    sizes = {}
    for label in labels:
        width, height = label.rstrip("c").split("x")
        sizes[label] = ThumbSize(label, int(width), int(height), label.endswith("c"))
    return sizes


def is_image_name(name: str) -> bool:
    """Whether a stored name is an original image: uploads are named by their bytes'
    detected type (core/files.py), so the extension can be trusted."""
    extension = posixpath.splitext(name)[1].lower()
    return extension in IMAGE_EXTENSIONS and f"{VARIANTS_SUFFIX}/" not in name


def variant_name(name: str, size: ThumbSize) -> str:
    return f"{name}{VARIANTS_SUFFIX}/{size.label}.webp"


def variant_original(name: str) -> str | None:
    """The original a stored variant was made from, or None for any other name."""
    original, separator, rest = name.rpartition(f"{VARIANTS_SUFFIX}/")
    if not separator or "/" in rest:
        return None
    return original


def variant_ensure(*, name: str, size: ThumbSize) -> str:
    """The stored variant of `name` at `size`, made from the original the first time.

    Raises FileNotFoundError without an original, VariantError when it cannot be made.
    """
    storage = default_storage
    target = variant_name(name, size)
    if storage.exists(target):
        return target
    with storage.open(name, "rb") as original:
        data = variant_render(original, size=size)
    # Each backend writes an object whole (local disk links a finished hidden file
    # into place), so two first requests cannot leave a torn variant; the one
    # that lost the race finds the name taken and drops its copy.
    saved = storage.save(target, ContentFile(data))
    if saved != target:
        storage.delete(saved)
    return target


def variant_render(source: IO[bytes], *, size: ThumbSize) -> bytes:
    """The WebP bytes of `source` resized to `size`: upright, without metadata."""
    limit = settings.THUMB_MAX_PIXELS
    # Pillow's own guard, for anything that reaches its decoders another way.
    Image.MAX_IMAGE_PIXELS = limit
    try:
        with Image.open(source) as opened:
            # The header is read, no pixels yet: refuse before decoding.
            if opened.width * opened.height > limit:
                raise ImageTooLarge(f"{opened.width}x{opened.height} pixels")
            if opened.format == "JPEG" and size.width and size.height:
                # Decodes at the smallest 1/2^n scale still covering the box.
                side = max(size.width, size.height)
                opened.draft("RGB", (side, side))
            image = ImageOps.exif_transpose(opened)
            image = image.convert("RGBA" if _has_alpha(image) else "RGB")
            if size.crop:
                image = ImageOps.fit(
                    image, (size.width, size.height), Image.Resampling.LANCZOS
                )
            else:
                image.thumbnail(
                    (size.width or _ANY, size.height or _ANY), Image.Resampling.LANCZOS
                )
            # A new image from the pixels alone: no EXIF, XMP or ICC can follow.
            clean = Image.frombytes(image.mode, image.size, image.tobytes())
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(str(exc)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageUnreadable(str(exc)) from exc
    out = io.BytesIO()
    clean.save(out, "WEBP", quality=_WEBP_QUALITY)
    return out.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in {"RGBA", "LA", "PA"} or (
        image.mode == "P" and "transparency" in image.info
    )


def variants_delete(name: str) -> None:
    """Removes every stored variant of `name`, whichever sizes were allowed when
    they were made; raises as the storage does, so the removal is retried."""
    storage = default_storage
    if not is_image_name(name) or hasattr(storage, "transformed_url"):
        return  # nothing stored: Cloudinary makes its own
    folder = f"{name}{VARIANTS_SUFFIX}"
    try:
        _folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for file in files:
        storage.delete(f"{folder}/{file}")
    if isinstance(storage, FileSystemStorage):
        storage.delete(folder)  # the emptied directory


def variant_urls_builder(
    absolute: Callable[[str], str] = str,
) -> Callable[[str, str], dict[str, str]]:
    """For a stored file's name and (absolute) URL, its variants' URLs by size label
    ({} for a file that is not an image); made once per answer, for lists.
    `absolute` makes a path from this server's root absolute."""
    sizes = thumb_sizes()
    transformed = getattr(default_storage, "transformed_url", None)
    if transformed is not None:

        def cloud_urls(name: str, url: str) -> dict[str, str]:
            if not is_image_name(name):
                return {}
            return {
                label: transformed(
                    name, width=size.width, height=size.height, crop=size.crop
                )
                for label, size in sizes.items()
            }

        return cloud_urls
    served_here = isinstance(default_storage, SignedFileSystemStorage)

    def urls(name: str, url: str) -> dict[str, str]:
        if not is_image_name(name):
            return {}
        # A bucket's presigned URL cannot take ?thumb=: its variants are reached
        # through a signed /assets/ link of their own.
        base = url if served_here else absolute(asset_link(name))
        return {label: f"{base}&thumb={label}" for label in sizes}

    return urls
