"""The server's pages load nothing from off the server: scripts, styles, fonts, images."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from http import HTTPStatus
from urllib.parse import urlsplit

import pytest

# Elements and attributes through which a page makes the browser fetch something.
LOADING = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "object": ("data",),
    "embed": ("src",),
}
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""")


class _Loads(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.stylesheets: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in LOADING.get(tag, ()):
            value = (values.get(name) or "").strip()
            if name == "srcset":
                self.urls += [
                    part.split()[0] for part in value.split(",") if part.strip()
                ]
            elif value:
                self.urls.append(value)
        if (
            tag == "link"
            and values.get("rel") == "stylesheet"
            and (href := values.get("href"))
        ):
            self.stylesheets.append(href)
        if style := values.get("style"):
            self.urls += _css_urls(style)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += _css_urls(data)


def _css_urls(css: str) -> list[str]:
    return [first or second for first, second in CSS_URL.findall(css)]


def _off_server(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.netloc) or parts.scheme not in {"", "data", "blob"}


def off_server_loads(client, path: str) -> list[str]:
    """What the page at `path`, and the stylesheets it links, would fetch elsewhere."""
    response = client.get(path)
    assert response.status_code == HTTPStatus.OK, path
    page = _Loads()
    page.feed(response.content.decode())
    urls = list(page.urls)
    for href in page.stylesheets:
        if not _off_server(href):
            stylesheet = client.get(href)
            assert stylesheet.status_code == HTTPStatus.OK, href
            urls += _css_urls(b"".join(stylesheet.streaming_content).decode())
    return [url for url in urls if _off_server(url)]


def test_the_parser_finds_what_the_stock_redoc_page_loads(client):
    from django.template.loader import render_to_string

    html = render_to_string(
        "drf_spectacular/redoc.html", {"schema_url": "/s", "redoc_standalone": "/r.js"}
    )
    page = _Loads()
    page.feed(html)

    assert [url for url in page.urls if _off_server(url)] == [
        "https://fonts.googleapis.com",
        "https://fonts.gstatic.com",
        "https://fonts.googleapis.com/css2?family=Montserrat:wght@300;400;700"
        "&family=Roboto:wght@300;400;700&display=swap",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/docs", "/redoc", "/admin/login/"])
def test_public_pages_load_nothing_from_off_the_server(client, settings, path):
    settings.GOOGLE_CLIENT_IDS = []

    assert off_server_loads(client, path) == []


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/", "/admin/accounts/user/"])
def test_admin_pages_load_nothing_from_off_the_server(client, admin_user, path):
    client.force_login(admin_user)

    assert off_server_loads(client, path) == []


@pytest.mark.django_db
def test_only_google_sign_in_loads_from_google_when_it_is_configured(client, settings):
    settings.GOOGLE_CLIENT_IDS = ["1234-web.apps.googleusercontent.com"]

    assert off_server_loads(client, "/") == ["https://accounts.google.com/gsi/client"]
