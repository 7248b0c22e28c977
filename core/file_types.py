"""The file types uploads may have: the one list that the ALLOWED_UPLOAD_TYPES default,
the type check (core/uploads.py) and avatars (images only) read.

Imported by config/settings.py: nothing here may need Django.
"""

# Each type with the extension its stored key gets.
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
    "text/csv": ".csv",
}
IMAGE_TYPES = [
    content_type for content_type in EXTENSIONS if content_type.startswith("image/")
]
