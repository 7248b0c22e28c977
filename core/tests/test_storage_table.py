"""core.storage's table is the one list of backends: each row names a real backend."""

import pytest
from django.utils.module_loading import import_string

from core.storage import BACKENDS, CLOUD_PROVIDERS, LOCAL, backend_named

# What each of our own cloud backends needs to be built (none of it reaches a network).
CONSTRUCTOR_OPTIONS = {
    "cloudinary": {"cloud_name": "c", "api_key": "k", "api_secret": "s"},
    "gcs": {"bucket_name": "b"},
}


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda backend: backend.label)
def test_each_row_names_a_backend_that_imports(backend):
    storage_class = import_string(backend.path)

    assert callable(backend.probe)
    assert backend.url_signing
    if backend.path.startswith("core."):
        # Our own backends deconstruct to the path in the table, so a migration or a
        # pickled field never names a module that has moved.
        made = storage_class(**CONSTRUCTOR_OPTIONS.get(backend.provider, {}))
        path, _, _ = made.deconstruct()
        assert path == backend.path


def test_every_cloud_provider_is_chosen_by_its_name_and_local_disk_by_none():
    assert set(CLOUD_PROVIDERS) == {"s3", "gcs", "cloudinary"}
    assert LOCAL.provider == ""
    assert LOCAL.options is None
    assert all(backend.options is not None for backend in CLOUD_PROVIDERS.values())


def test_a_path_the_table_lacks_has_no_row():
    assert backend_named("somewhere.else.Storage") is None
    assert backend_named(LOCAL.path) is LOCAL
