"""Image variants on local disk: `?thumb=` on a signed /assets/ link, made once."""

from __future__ import annotations

import io
import os
import struct
import zlib
from http import HTTPStatus

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from PIL import Image

from core.image_variants import thumb_sizes, variant_ensure, variant_name
from core.storage import options

RED, BLUE = (255, 0, 0), (0, 0, 255)
EXIF_ORIENTATION = 0x0112
ROTATED_90_CW = 6  # the camera was turned: show the pixels turned 90° clockwise


@pytest.fixture(autouse=True)
def _sizes(settings):
    settings.THUMB_SIZES = ["100x100", "60x60c", "80x0"]


def halves(width: int, height: int, fmt: str = "PNG", **save) -> bytes:
    """An image red on its left half and blue on its right."""
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def sideways_jpeg() -> bytes:
    """A 400x200 JPEG whose EXIF says it is shown turned: upright it is 200x400."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = ROTATED_90_CW
    exif[0x010F] = "Camera maker"  # Make: metadata that must not follow
    return halves(400, 200, "JPEG", exif=exif.tobytes(), quality=95)


def bomb_png(side: int = 60_000) -> bytes:
    """A few hundred bytes that declare side x side pixels: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def store(settings, name: str, content: bytes) -> str:
    return default_storage.save(
        f"{settings.STORAGE_PREFIX}/resources/owner/{name}", ContentFile(content)
    )


def fetch_thumb(name: str, thumb: str):
    return Client().get(f"{default_storage.url(name)}&thumb={thumb}")


def decoded(response) -> Image.Image:
    body = b"".join(response.streaming_content)
    image = Image.open(io.BytesIO(body))
    image.load()
    return image


@pytest.mark.parametrize(
    ("thumb", "size"), [("100x100", (100, 50)), ("80x0", (80, 40))]
)
def test_a_fitted_variant_keeps_the_aspect_inside_its_box(settings, thumb, size):
    name = store(settings, "wide.png", halves(400, 200))

    response = fetch_thumb(name, thumb)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "image/webp"
    image = decoded(response)
    assert (image.format, image.size) == ("WEBP", size)


def test_a_cropped_variant_has_exactly_its_size_cut_from_the_middle(settings):
    name = store(settings, "wide.png", halves(400, 200))

    image = decoded(fetch_thumb(name, "60x60c")).convert("RGB")

    assert image.size == (60, 60)
    # The middle of a red|blue image: red on the left, blue on the right.
    assert image.getpixel((5, 30))[0] > 200
    assert image.getpixel((54, 30))[2] > 200


def test_a_variant_is_turned_upright_by_its_exif_and_keeps_no_exif(settings):
    name = store(settings, "sideways.jpg", sideways_jpeg())

    image = decoded(fetch_thumb(name, "100x100")).convert("RGB")

    assert image.size == (50, 100)  # portrait: the EXIF turn was applied
    # Turned clockwise, the left (red) half is now on top.
    assert image.getpixel((25, 10))[0] > 200
    assert image.getpixel((25, 90))[2] > 200
    assert not image.getexif()
    assert not {"exif", "xmp", "icc_profile"} & set(image.info)


def test_a_variant_is_made_once_and_then_served_as_stored(settings):
    name = store(settings, "wide.png", halves(400, 200))
    first = b"".join(fetch_thumb(name, "100x100").streaming_content)
    stored = default_storage.path(variant_name(name, thumb_sizes()["100x100"]))
    os.utime(stored, (1_000_000_000, 1_000_000_000))

    second = b"".join(fetch_thumb(name, "100x100").streaming_content)

    assert second == first
    assert os.stat(stored).st_mtime == 1_000_000_000  # not written again


def test_a_variant_is_stored_beside_its_original(settings):
    name = store(settings, "wide.png", halves(400, 200))

    fetch_thumb(name, "60x60c")

    assert default_storage.listdir(f"{name}.thumbs") == ([], ["60x60c.webp"])


def test_a_variant_stored_meanwhile_by_another_request_is_kept_whole(
    settings, monkeypatch
):
    name = store(settings, "wide.png", halves(400, 200))
    size = thumb_sizes()["100x100"]
    target = variant_ensure(name=name, size=size)
    real_exists = type(default_storage._wrapped).exists
    answers = iter([False])  # the first look finds nothing, as in a race

    def exists(storage, path):
        return next(answers, None) or real_exists(storage, path)

    monkeypatch.setattr(type(default_storage._wrapped), "exists", exists)

    again = variant_ensure(name=name, size=size)

    assert again == target
    assert default_storage.listdir(f"{name}.thumbs") == ([], ["100x100.webp"])
    with default_storage.open(target) as stored:
        assert Image.open(stored).size == (100, 50)


@pytest.mark.parametrize("thumb", ["50x50", "100x100C", "100x", "x", "", "100x100c"])
def test_a_size_outside_thumb_sizes_is_400_json(settings, thumb):
    name = store(settings, "wide.png", halves(400, 200))

    response = fetch_thumb(name, thumb)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "thumb_size_not_allowed"
    assert not default_storage.exists(f"{name}.thumbs")


def test_a_file_that_is_not_an_image_has_no_variants(settings):
    name = store(settings, "notes.txt", b"hello")

    response = fetch_thumb(name, "100x100")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "thumb_not_an_image"


def test_a_decompression_bomb_is_refused_before_it_is_decoded(settings):
    name = store(settings, "bomb.png", bomb_png())

    response = fetch_thumb(name, "100x100")

    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert response.json()["code"] == "image_too_large"
    assert not default_storage.exists(f"{name}.thumbs")


def test_an_image_over_thumb_max_pixels_is_refused(settings):
    settings.THUMB_MAX_PIXELS = 400 * 200 - 1
    name = store(settings, "wide.png", halves(400, 200))

    response = fetch_thumb(name, "100x100")

    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert response.json()["code"] == "image_too_large"


def test_bytes_that_do_not_decode_are_422(settings):
    name = store(settings, "broken.png", b"\x89PNG\r\n\x1a\nnot really")

    response = fetch_thumb(name, "100x100")

    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert response.json()["code"] == "image_unreadable"


def test_a_thumb_needs_a_signed_link(settings):
    name = store(settings, "wide.png", halves(400, 200))

    response = Client().get(f"/assets/{name}?thumb=100x100")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert not default_storage.exists(f"{name}.thumbs")


def test_the_variant_of_a_missing_original_is_404(settings):
    name = f"{settings.STORAGE_PREFIX}/resources/owner/gone.png"

    response = fetch_thumb(name, "100x100")

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_thumb_sizes_defaults_to_two_boxes_and_a_width(monkeypatch):
    monkeypatch.delenv("THUMB_SIZES", raising=False)

    assert options.thumb_sizes() == ["100x100", "300x300", "800x0"]


def test_thumb_sizes_reads_fitted_and_cropped_sizes(monkeypatch):
    monkeypatch.setenv("THUMB_SIZES", " 64x64c, 0x200 ,1200x800")

    assert options.thumb_sizes() == ["64x64c", "0x200", "1200x800"]


@pytest.mark.parametrize("size", ["0x0", "100x0c", "100", "10000x10", "064x64", "1x1C"])
def test_a_malformed_thumb_size_stops_the_server_at_start(monkeypatch, size):
    monkeypatch.setenv("THUMB_SIZES", f"100x100,{size}")

    with pytest.raises(SystemExit, match="THUMB_SIZES"):
        options.thumb_sizes()


@pytest.mark.parametrize("pixels", ["0", "-5"])
def test_thumb_max_pixels_must_be_positive(monkeypatch, pixels):
    monkeypatch.setenv("THUMB_MAX_PIXELS", pixels)

    with pytest.raises(SystemExit, match="THUMB_MAX_PIXELS"):
        options.thumb_max_pixels()


def test_a_transparent_image_keeps_its_transparency(settings):
    image = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 100, 200))
    out = io.BytesIO()
    image.save(out, "PNG")
    name = store(settings, "clear.png", out.getvalue())

    variant = decoded(fetch_thumb(name, "100x100"))

    assert variant.mode == "RGBA"
    assert variant.getpixel((90, 50))[3] == 0
    assert variant.getpixel((10, 50))[3] == 255
