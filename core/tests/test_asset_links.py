"""Local /assets/ links are signed, expire, and serve nothing without a valid signature."""

import time
from http import HTTPStatus
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client


@pytest.fixture
def stored(settings) -> str:
    return default_storage.save(
        f"{settings.STORAGE_PREFIX}/resources/owner/a.txt", ContentFile(b"hello")
    )


def fetch(url: str):
    return Client().get(url)


def test_a_fresh_link_serves_the_file(stored):
    response = fetch(default_storage.url(stored))

    assert response.status_code == HTTPStatus.OK
    assert b"".join(response.streaming_content) == b"hello"


def test_a_link_expires_file_url_expire_seconds_after_it_is_made(stored, settings):
    settings.FILE_URL_EXPIRE_SECONDS = 60

    url = default_storage.url(stored)

    expires = int(parse_qs(urlsplit(url).query)["expires"][0])
    assert expires == pytest.approx(time.time() + 60, abs=2)


def test_an_expired_link_is_404(stored):
    url = default_storage.url(stored, expires=int(time.time()) - 1)

    assert fetch(url).status_code == HTTPStatus.NOT_FOUND


def test_the_bare_path_without_a_signature_is_404(stored):
    response = fetch(f"/assets/{stored}")

    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize("expires", ["", "soon", "\u00b2", "-5"])
def test_a_malformed_expiry_is_404(stored, expires):
    signature = parse_qs(urlsplit(default_storage.url(stored)).query)["signature"][0]

    response = fetch(f"/assets/{stored}?expires={expires}&signature={signature}")

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_a_link_with_a_pushed_back_expiry_is_404(stored):
    url = default_storage.url(stored, expires=int(time.time()) - 1)
    expires = parse_qs(urlsplit(url).query)["expires"][0]

    tampered = url.replace(f"expires={expires}", f"expires={int(time.time()) + 900}")

    assert fetch(tampered).status_code == HTTPStatus.NOT_FOUND


def test_a_signature_for_another_file_is_404(stored, settings):
    other = default_storage.save(
        f"{settings.STORAGE_PREFIX}/resources/owner/b.txt", ContentFile(b"other")
    )
    query = urlsplit(default_storage.url(stored)).query

    response = fetch(f"/assets/{other}?{query}")

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_a_signature_made_with_another_salt_is_404(stored):
    expires = int(time.time()) + 900
    # What any other signed value of the project (same key, default salt) carries.
    forged = signing.Signer().sign(f"{stored}\n{expires}").rsplit(":", 1)[1]

    response = fetch(f"/assets/{stored}?expires={expires}&signature={forged}")

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_links_signed_before_a_key_rotation_still_work(stored, settings):
    url = default_storage.url(stored)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-for-this-test-only-0123456789"

    assert fetch(url).status_code == HTTPStatus.OK


def test_a_link_carries_its_expiry_and_signature_as_a_plain_query(stored):
    from core.storage.local import asset_signature

    url = default_storage.url(stored, expires=2000000000)

    signature = asset_signature(stored, expires=2000000000)
    query = urlencode({"expires": 2000000000, "signature": signature})
    assert url == f"/assets/{stored}?{query}"


@pytest.mark.parametrize("name", ["a.txt", "dir/ünï code.png", "x\ny"])
def test_a_signature_is_djangos_signer_signature_under_the_current_key(name, settings):
    from core.storage.local import _SALT, _signed_value, asset_signature

    for key in ("first-key-for-this-test-0123456789", "second-key-for-this-test-98"):
        settings.SECRET_KEY = key
        assert asset_signature(name, expires=1234) == signing.Signer(
            salt=_SALT
        ).signature(_signed_value(name, 1234))


@pytest.mark.parametrize(
    "name", ["a/b c.txt", "a/é#?.txt", "a:b/c", "./a", "a/../b", ".hidden/x"]
)
def test_a_link_is_the_unsigned_storage_url_plus_its_query(name):
    from django.core.files.storage import FileSystemStorage

    url = default_storage.url(name, expires=2000000000)

    unsigned = FileSystemStorage(base_url=default_storage.base_url).url(name)
    assert url.startswith(f"{unsigned}?expires=2000000000&signature=")


def test_a_link_made_again_under_a_new_key_is_signed_with_it(stored, settings):
    # Links are remembered per (name, expiry): the key must be part of that.
    before = default_storage.url(stored, expires=2000000000)
    settings.SECRET_KEY = "a-new-secret-key-for-this-test-only-0123456789"

    after = default_storage.url(stored, expires=2000000000)

    assert after != before
    assert fetch(after).status_code == HTTPStatus.OK
    assert fetch(before).status_code == HTTPStatus.NOT_FOUND
