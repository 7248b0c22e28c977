"""Swagger UI at /docs in a real browser: schema, Authorize, and Try it out."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from playwright.sync_api import expect

from conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_swagger_ui_authorizes_with_a_token_and_calls_me(page, user_factory):
    user_factory(email="frontend@example.com", full_name="Fran Frontend")
    login = page.request.post(
        "/api/v1/auth/login/",
        data={"email": "frontend@example.com", "password": DEFAULT_PASSWORD},
    )
    assert login.status == HTTPStatus.OK
    access = login.json()["access"]
    responses = []
    page.on("response", lambda response: responses.append(response))

    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Gatehouse API")
    operation = page.locator("#operations-auth-auth_me_retrieve")
    expect(operation).to_be_visible()
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".dialog-ux .modal-ux")
    dialog.get_by_label("auth-bearer-value").fill(access)
    dialog.get_by_role("button", name="Apply credentials").click()
    expect(dialog.get_by_role("button", name="Remove authorization")).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()

    live = operation.locator(".live-responses-table")
    expect(live.locator("tbody .response-col_status")).to_have_text("200")
    expect(live.locator("tbody .response-col_description")).to_contain_text(
        '"email": "frontend@example.com"'
    )
    expect(operation.locator(".curl-command")).to_contain_text(
        f"Authorization: Bearer {access}"
    )
    assert [r.url for r in responses if r.status >= HTTPStatus.BAD_REQUEST] == []
    sidecar = "/static/drf_spectacular_sidecar/swagger-ui-dist/"
    served = {r.url.rsplit("/", 1)[-1] for r in responses if sidecar in r.url}
    assert {"swagger-ui-bundle.js", "swagger-ui.css"} <= served
