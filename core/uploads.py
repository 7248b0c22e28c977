"""Receiving uploads: a size limit enforced while streaming, and type detection by bytes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from core.errors import FileTooLarge, UnsupportedFileType
from core.file_types import EXTENSIONS

# Room for the multipart boundaries and part headers around one file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
SNIFF_BYTES = 4096


def file_too_large() -> FileTooLarge:
    """The 413 of an upload over MAX_UPLOAD_SIZE, by multipart or by URL."""
    limit_mb = settings.MAX_UPLOAD_SIZE / (1024 * 1024)
    return FileTooLarge(f"Files may be at most {limit_mb:g} MB.")


class LimitedUploadHandler(TemporaryFileUploadHandler):
    """Streams each file to a temporary file, hashing it on the way.

    Refuses a body whose declared length is already over MAX_UPLOAD_SIZE before
    reading it, and stops reading once a file's bytes pass the limit.
    """

    def handle_raw_input(
        self, input_data, META, content_length, boundary, encoding=None
    ):
        if (
            content_length
            and content_length > settings.MAX_UPLOAD_SIZE + MULTIPART_OVERHEAD_BYTES
        ):
            raise file_too_large()
        return super().handle_raw_input(
            input_data, META, content_length, boundary, encoding
        )

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self._received = 0
        self._sha256 = hashlib.sha256()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self._received += len(raw_data)
        if self._received > settings.MAX_UPLOAD_SIZE:
            self.file.close()
            raise file_too_large()
        self._sha256.update(raw_data)
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size: int) -> UploadedFile | None:
        uploaded = super().file_complete(file_size)
        if uploaded is not None:
            # Read by checksum_of(), which then need not read the file again.
            setattr(uploaded, "sha256", self._sha256.hexdigest())  # noqa: B010
        return uploaded


@dataclass(frozen=True)
class DetectedType:
    content_type: str
    extension: str


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sniffed bytes is fine.
        if exc.start < len(head) - 3:
            return False
        text = head[: exc.start].decode("utf-8")
    # Markup (HTML, SVG, XML) would run in a browser; it is never plain text here.
    return not text.lstrip("\ufeff \t\r\n").startswith("<")


def detect_type(file: UploadedFile) -> DetectedType | None:
    """The file's type from its first bytes; the name only tells CSV from text."""
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    if not head:
        return None
    kind = filetype.guess(head)
    if kind is not None:
        return DetectedType(kind.mime, EXTENSIONS.get(kind.mime, f".{kind.extension}"))
    if _looks_like_text(head):
        if (file.name or "").lower().endswith(".csv"):
            return DetectedType("text/csv", ".csv")
        return DetectedType("text/plain", ".txt")
    return None


def validate_upload(
    file: UploadedFile, *, allowed: list[str] | None = None
) -> DetectedType:
    """The detected type of an upload, or a 413/415 error."""
    if file.size is not None and file.size > settings.MAX_UPLOAD_SIZE:
        raise file_too_large()
    detected = detect_type(file)
    allowed = allowed if allowed is not None else settings.ALLOWED_UPLOAD_TYPES
    if detected is None or detected.content_type not in allowed:
        raise UnsupportedFileType(f"Accepted types: {', '.join(sorted(allowed))}.")
    return detected


def checksum_of(file: UploadedFile) -> str:
    if sha256 := getattr(file, "sha256", None):
        return sha256
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()
