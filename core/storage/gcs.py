"""django-storages' GCS backend, with every call of an upload, delete or exists bounded.

django-storages passes google's DEFAULT_RETRY (a 120 s deadline) and the client's
60 s timeout, and takes no setting for either: the calls it makes are copied here
with CLOUD_STORAGE_CONNECT_TIMEOUT, CLOUD_STORAGE_TIMEOUT and CLOUD_STORAGE_ATTEMPTS.
"""

from __future__ import annotations

import contextlib
import itertools
import mimetypes

from django.core.exceptions import ImproperlyConfigured
from django.utils.deconstruct import deconstructible
from google.cloud.exceptions import NotFound
from google.cloud.storage.retry import DEFAULT_RETRY, _should_retry
from storages.backends.gcloud import GoogleCloudStorage
from storages.utils import clean_name


@deconstructible(path="core.storage.gcs.BoundedGoogleCloudStorage")
class BoundedGoogleCloudStorage(GoogleCloudStorage):
    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        if self.gzip:
            raise ImproperlyConfigured("Gatehouse's GCS backend does not gzip uploads")

    def get_default_settings(self) -> dict:
        return {
            **super().get_default_settings(),
            "connect_timeout": 5,
            "read_timeout": 10,
            "attempts": 2,
        }

    @property
    def _bounds(self) -> dict:
        """A new timeout and retry for one call: the retry counts the call's tries."""
        tries = itertools.count(2)  # the number of the try a retry would make

        def retryable(exc: Exception) -> bool:
            return _should_retry(exc) and next(tries) <= self.attempts

        return {
            "timeout": (self.connect_timeout, self.read_timeout),
            # Google's retry counts time (a 120 s deadline), not tries: the count
            # above bounds it instead, with its backoff of up to 1 s, 2 s, 4 s...
            "retry": DEFAULT_RETRY.with_predicate(retryable).with_timeout(None),
        }

    def _save(self, name, content):
        cleaned_name = clean_name(name)
        name = self._normalize_name(cleaned_name)
        content.name = cleaned_name
        # No lookup of an existing blob, as django-storages makes: with file_overwrite
        # off, save() has just found the name free.
        blob = self.bucket.blob(name, chunk_size=self.blob_chunk_size)
        mime_type, mime_encoding = mimetypes.guess_type(name)
        blob_params = self.get_object_parameters(name)
        if mime_encoding and "content_encoding" not in blob_params:
            blob_params["content_encoding"] = mime_encoding
        predefined_acl = blob_params.pop("acl", self.default_acl)
        content_type = blob_params.pop("content_type", mime_type)
        for prop, value in blob_params.items():
            setattr(blob, prop, value)
        blob.upload_from_file(
            content,
            rewind=True,
            size=getattr(content, "size", None),
            predefined_acl=predefined_acl,
            content_type=content_type,
            **self._bounds,
        )
        return cleaned_name

    def delete(self, name):
        name = self._normalize_name(clean_name(name))
        with contextlib.suppress(NotFound):
            self.bucket.delete_blob(name, **self._bounds)

    def exists(self, name):
        if not name:  # the bucket itself
            try:
                self.client.get_bucket(self.bucket, **self._bounds)
            except NotFound:
                return False
            return True
        name = self._normalize_name(clean_name(name))
        return self.bucket.get_blob(name, **self._bounds) is not None
