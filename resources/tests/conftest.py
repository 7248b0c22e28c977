import pytest

from resources.models import Resource


@pytest.fixture
def resource(approved_user, resource_factory) -> Resource:
    """A resource of approved_user's, as most of these tests need one."""
    return resource_factory(owner=approved_user)
