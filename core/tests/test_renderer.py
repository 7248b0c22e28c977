"""The API's orjson renderer writes exactly the bytes DRF's JSONRenderer writes."""

import datetime
import decimal
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings

from core.renderers import FastJSONRenderer

AWARE = datetime.datetime(2026, 12, 2, 8, 3, 44, 498295, tzinfo=datetime.UTC)
PAYLOADS = {
    "unicode and line separators": {"t": 'é Zoë \u2028 \u2029 \x1f "q" </script>'},
    "utc datetime": {"at": AWARE},
    "whole-second datetime": {"at": AWARE.replace(microsecond=0)},
    "offset datetime": {"at": AWARE.astimezone(ZoneInfo("Asia/Kolkata"))},
    "zero-offset zone datetime": {"at": AWARE.astimezone(ZoneInfo("Europe/London"))},
    "naive datetime, date and time": [
        AWARE.replace(tzinfo=None),
        AWARE.date(),
        datetime.time(8, 3, 44, 12),
    ],
    "uuid, decimal, lazy text, error detail": [
        uuid.UUID(int=7),
        decimal.Decimal("1.25"),
        gettext_lazy("Not found."),
        ErrorDetail("Bad.", code="invalid"),
    ],
    "numbers": [0, -1, 2**63 - 1, 1.5, 0.1, 1e16, 1e22, -0.0, True, None],
    "an integer beyond 64 bits": {"n": 2**70},
    "non-string keys": {1: "one", None: "none"},
    "nested": {"a": [{"b": {"c": []}}], "empty": {}},
}


@pytest.mark.parametrize("data", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_renders_the_bytes_drf_renders(data):
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_an_indent_asked_for_is_honoured():
    data = {"a": [1, {"b": 2}]}
    media_type = "application/json; indent=4"

    rendered = FastJSONRenderer().render(data, media_type, {})

    assert rendered == JSONRenderer().render(data, media_type, {})
    assert b'\n    "a"' in rendered


def test_nothing_renders_as_an_empty_body():
    assert FastJSONRenderer().render(None) == b""


def test_the_api_renders_with_it():
    renderers = api_settings.DEFAULT_RENDERER_CLASSES

    assert renderers == [FastJSONRenderer]
