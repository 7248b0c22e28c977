"""The OpenAPI schema at /api/v1/schema/ agrees with the HTTP contract (docs/API.md)."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.core.management import call_command

SCHEMA_URL = "/api/v1/schema/?format=json"
AUTH = "/api/v1/auth/"
ADMIN = "/api/v1/admin/"
MIGRATE = "/api/v1/migrate/"

# The contract's operations that exist today, each with its success status.
CONTRACT_OPERATIONS = [
    ("post", f"{AUTH}register/", HTTPStatus.CREATED),
    ("post", f"{AUTH}login/", HTTPStatus.OK),
    ("post", f"{AUTH}google/", HTTPStatus.OK),
    ("post", f"{AUTH}code/request/", HTTPStatus.ACCEPTED),
    ("post", f"{AUTH}code/confirm/", HTTPStatus.OK),
    ("post", f"{AUTH}refresh/", HTTPStatus.OK),
    ("post", f"{AUTH}logout/", HTTPStatus.NO_CONTENT),
    ("post", f"{AUTH}logout-all/", HTTPStatus.NO_CONTENT),
    ("get", f"{AUTH}sessions/", HTTPStatus.OK),
    ("delete", f"{AUTH}sessions/{{id}}/", HTTPStatus.NO_CONTENT),
    ("get", f"{AUTH}me/", HTTPStatus.OK),
    ("patch", f"{AUTH}me/", HTTPStatus.OK),
    ("post", f"{AUTH}request-access/", HTTPStatus.ACCEPTED),
    ("post", f"{AUTH}password/change/", HTTPStatus.NO_CONTENT),
    ("post", f"{AUTH}password/reset/", HTTPStatus.ACCEPTED),
    ("post", f"{AUTH}password/reset/confirm/", HTTPStatus.NO_CONTENT),
    ("post", f"{AUTH}invitation/accept/", HTTPStatus.NO_CONTENT),
    ("post", f"{AUTH}email/confirm/", HTTPStatus.NO_CONTENT),
    ("post", f"{AUTH}email/resend/", HTTPStatus.ACCEPTED),
    ("post", f"{AUTH}mfa/verify/", HTTPStatus.OK),
    ("get", f"{AUTH}mfa/", HTTPStatus.OK),
    ("post", f"{AUTH}mfa/totp/", HTTPStatus.OK),
    ("delete", f"{AUTH}mfa/totp/", HTTPStatus.NO_CONTENT),
    ("post", f"{AUTH}mfa/totp/confirm/", HTTPStatus.OK),
    ("get", f"{ADMIN}users/", HTTPStatus.OK),
    ("post", f"{ADMIN}users/", HTTPStatus.CREATED),
    ("get", f"{ADMIN}users/{{id}}/", HTTPStatus.OK),
    ("patch", f"{ADMIN}users/{{id}}/", HTTPStatus.OK),
    ("get", f"{ADMIN}access-requests/", HTTPStatus.OK),
    ("post", f"{ADMIN}access-requests/{{id}}/approve/", HTTPStatus.OK),
    ("post", f"{ADMIN}access-requests/{{id}}/reject/", HTTPStatus.OK),
    ("get", f"{ADMIN}groups/", HTTPStatus.OK),
    ("post", f"{ADMIN}groups/", HTTPStatus.CREATED),
    ("get", f"{ADMIN}groups/{{id}}/", HTTPStatus.OK),
    ("patch", f"{ADMIN}groups/{{id}}/", HTTPStatus.OK),
    ("delete", f"{ADMIN}groups/{{id}}/", HTTPStatus.NO_CONTENT),
    ("get", f"{ADMIN}permissions/", HTTPStatus.OK),
    ("get", "/api/v1/health/", HTTPStatus.OK),
    ("get", MIGRATE, HTTPStatus.OK),
    ("post", MIGRATE, HTTPStatus.OK),
]

# method, path, required body fields, optional body fields ("?" in the contract).
CONTRACT_REQUEST_BODIES = [
    ("post", f"{AUTH}register/", {"email", "password"}, {"full_name", "reason"}),
    ("post", f"{AUTH}login/", {"email", "password"}, set()),
    ("post", f"{AUTH}google/", {"id_token"}, set()),
    ("post", f"{AUTH}code/request/", {"email"}, set()),
    ("post", f"{AUTH}code/confirm/", {"email", "code"}, set()),
    # `refresh` may come from the cookie instead (JWT_REFRESH_COOKIE).
    ("post", f"{AUTH}refresh/", set(), {"refresh"}),
    ("post", f"{AUTH}logout/", set(), {"refresh"}),
    ("patch", f"{AUTH}me/", set(), {"full_name", "avatar_url"}),
    ("post", f"{AUTH}request-access/", {"email"}, {"full_name", "reason"}),
    ("post", f"{AUTH}password/change/", {"old_password", "new_password"}, set()),
    ("post", f"{AUTH}password/reset/", {"email"}, set()),
    (
        "post",
        f"{AUTH}password/reset/confirm/",
        {"uid", "token", "new_password"},
        set(),
    ),
    (
        "post",
        f"{AUTH}invitation/accept/",
        {"uid", "token", "new_password"},
        set(),
    ),
    ("post", f"{ADMIN}users/", {"email"}, {"full_name", "role"}),
    ("post", f"{AUTH}email/confirm/", {"key"}, set()),
    ("post", f"{AUTH}email/resend/", {"email"}, set()),
    ("post", f"{AUTH}mfa/verify/", {"mfa_token", "code"}, set()),
    ("delete", f"{AUTH}mfa/totp/", {"code"}, set()),
    ("post", f"{AUTH}mfa/totp/confirm/", {"code"}, set()),
    (
        "patch",
        f"{ADMIN}users/{{id}}/",
        set(),
        {"role", "status", "full_name", "groups"},
    ),
    ("post", f"{ADMIN}groups/", {"name"}, {"permissions"}),
    ("patch", f"{ADMIN}groups/{{id}}/", set(), {"name", "permissions"}),
    ("post", f"{ADMIN}access-requests/{{id}}/approve/", set(), {"role", "note"}),
    ("post", f"{ADMIN}access-requests/{{id}}/reject/", set(), {"note"}),
]

USER_FIELDS = {
    "id",
    "email",
    "email_verified",
    "full_name",
    "avatar_url",
    "role",
    "status",
    "is_admin",
    "auth_provider",
    "date_joined",
    "last_login",
}
# GET me/ adds what the user may do; the admin API adds the user's group ids.
ME_FIELDS = USER_FIELDS | {"groups", "permissions"}
ADMIN_USER_FIELDS = USER_FIELDS | {"groups"}
GROUP_FIELDS = {"id", "name", "permissions", "system"}
PERMISSION_FIELDS = {"permission", "name"}
SESSION_FIELDS = {"id", "user_agent", "ip", "created_at", "last_used_at", "current"}
ACCESS_REQUEST_FIELDS = {
    "id",
    "user",
    "email",
    "full_name",
    "reason",
    "status",
    "created_at",
    "decided_at",
    "decided_by",
    "note",
}

# method, path, success status, fields of the JSON answer.
CONTRACT_RESPONSE_BODIES = [
    ("post", f"{AUTH}register/", HTTPStatus.CREATED, {"user", "detail"}),
    ("post", f"{AUTH}login/", HTTPStatus.OK, {"access", "refresh", "user"}),
    ("post", f"{AUTH}google/", HTTPStatus.OK, {"access", "refresh", "user"}),
    ("post", f"{AUTH}code/request/", HTTPStatus.ACCEPTED, {"detail"}),
    ("post", f"{AUTH}code/confirm/", HTTPStatus.OK, {"access", "refresh", "user"}),
    ("post", f"{AUTH}refresh/", HTTPStatus.OK, {"access", "refresh"}),
    ("get", f"{AUTH}me/", HTTPStatus.OK, ME_FIELDS),
    ("patch", f"{AUTH}me/", HTTPStatus.OK, USER_FIELDS),
    ("post", f"{AUTH}request-access/", HTTPStatus.ACCEPTED, {"detail"}),
    ("post", f"{AUTH}password/reset/", HTTPStatus.ACCEPTED, {"detail"}),
    ("post", f"{AUTH}email/resend/", HTTPStatus.ACCEPTED, {"detail"}),
    ("post", f"{AUTH}mfa/verify/", HTTPStatus.OK, {"access", "refresh", "user"}),
    ("post", f"{AUTH}mfa/totp/", HTTPStatus.OK, {"secret", "otpauth_uri", "qr_svg"}),
    ("post", f"{AUTH}mfa/totp/confirm/", HTTPStatus.OK, {"recovery_codes"}),
    ("get", f"{ADMIN}users/{{id}}/", HTTPStatus.OK, ADMIN_USER_FIELDS),
    ("post", f"{ADMIN}users/", HTTPStatus.CREATED, ADMIN_USER_FIELDS),
    ("patch", f"{ADMIN}users/{{id}}/", HTTPStatus.OK, ADMIN_USER_FIELDS),
    ("post", f"{ADMIN}groups/", HTTPStatus.CREATED, GROUP_FIELDS),
    ("get", f"{ADMIN}groups/{{id}}/", HTTPStatus.OK, GROUP_FIELDS),
    ("patch", f"{ADMIN}groups/{{id}}/", HTTPStatus.OK, GROUP_FIELDS),
    (
        "post",
        f"{ADMIN}access-requests/{{id}}/approve/",
        HTTPStatus.OK,
        ACCESS_REQUEST_FIELDS,
    ),
    (
        "post",
        f"{ADMIN}access-requests/{{id}}/reject/",
        HTTPStatus.OK,
        ACCESS_REQUEST_FIELDS,
    ),
    ("get", MIGRATE, HTTPStatus.OK, {"applied", "pending"}),
    ("post", MIGRATE, HTTPStatus.OK, {"applied_now"}),
]

# The contract's error statuses per operation (400 wherever a body is validated).
CONTRACT_ERRORS = [
    ("post", f"{AUTH}register/", {400, 403, 429}),
    ("post", f"{AUTH}login/", {400, 401, 403, 429}),
    ("post", f"{AUTH}google/", {401, 403, 429}),
    ("post", f"{AUTH}code/request/", {400, 429}),
    ("post", f"{AUTH}code/confirm/", {400, 401, 403, 429}),
    ("post", f"{AUTH}mfa/verify/", {400, 403, 429}),
    ("get", f"{AUTH}mfa/", {401}),
    ("post", f"{AUTH}mfa/totp/", {401, 409}),
    ("delete", f"{AUTH}mfa/totp/", {400, 401, 404, 429}),
    ("post", f"{AUTH}mfa/totp/confirm/", {400, 401, 409}),
    ("post", f"{AUTH}refresh/", {401, 403}),
    ("post", f"{AUTH}logout/", {401, 403}),
    ("post", f"{AUTH}logout-all/", {401}),
    ("get", f"{AUTH}sessions/", {401}),
    ("delete", f"{AUTH}sessions/{{id}}/", {401, 404}),
    ("get", f"{AUTH}me/", {401}),
    ("patch", f"{AUTH}me/", {400}),
    ("delete", f"{AUTH}me/", {400, 401}),
    ("post", f"{AUTH}request-access/", {400, 403, 429}),
    ("post", f"{AUTH}password/change/", {400, 401}),
    ("post", f"{AUTH}password/reset/", {429}),
    ("post", f"{AUTH}password/reset/confirm/", {400}),
    ("post", f"{AUTH}invitation/accept/", {400}),
    ("post", f"{ADMIN}users/", {400, 401, 403}),
    ("post", f"{AUTH}email/confirm/", {400}),
    ("post", f"{AUTH}email/resend/", {429}),
    ("get", f"{ADMIN}users/", {401, 403}),
    ("patch", f"{ADMIN}users/{{id}}/", {400, 401, 403, 404}),
    ("get", f"{ADMIN}access-requests/", {401, 403}),
    ("post", f"{ADMIN}access-requests/{{id}}/approve/", {401, 403, 404}),
    ("post", f"{ADMIN}access-requests/{{id}}/reject/", {401, 403, 404}),
    ("get", f"{ADMIN}groups/", {401, 403}),
    ("post", f"{ADMIN}groups/", {400, 401, 403}),
    ("get", f"{ADMIN}groups/{{id}}/", {401, 403, 404}),
    ("patch", f"{ADMIN}groups/{{id}}/", {400, 401, 403, 404}),
    ("delete", f"{ADMIN}groups/{{id}}/", {400, 401, 403, 404}),
    ("get", f"{ADMIN}permissions/", {401, 403}),
    ("post", "/api/v1/resources/{id}/share/", {401, 403, 404}),
    ("get", MIGRATE, {401, 403}),
    ("post", MIGRATE, {401, 403}),
]

PUBLIC_OPERATIONS = [
    ("post", f"{AUTH}login/"),
    ("post", f"{AUTH}register/"),
    ("post", f"{AUTH}google/"),
    ("post", f"{AUTH}code/request/"),
    ("post", f"{AUTH}code/confirm/"),
    ("post", f"{AUTH}refresh/"),
    ("post", f"{AUTH}request-access/"),
    ("post", f"{AUTH}password/reset/"),
    ("post", f"{AUTH}password/reset/confirm/"),
    ("post", f"{AUTH}invitation/accept/"),
    ("post", f"{AUTH}email/confirm/"),
    ("post", f"{AUTH}email/resend/"),
    ("get", "/api/v1/health/"),
]

BEARER_OPERATIONS = [
    ("post", f"{AUTH}logout-all/"),
    ("get", f"{AUTH}sessions/"),
    ("delete", f"{AUTH}sessions/{{id}}/"),
    ("get", f"{AUTH}me/"),
    ("patch", f"{AUTH}me/"),
    ("post", f"{AUTH}password/change/"),
    ("get", f"{ADMIN}users/"),
    ("post", f"{ADMIN}users/"),
    ("patch", f"{ADMIN}users/{{id}}/"),
    ("get", f"{ADMIN}access-requests/"),
    ("post", f"{ADMIN}access-requests/{{id}}/approve/"),
    ("post", f"{ADMIN}access-requests/{{id}}/reject/"),
    ("get", f"{ADMIN}groups/"),
    ("post", f"{ADMIN}groups/"),
    ("patch", f"{ADMIN}groups/{{id}}/"),
    ("delete", f"{ADMIN}groups/{{id}}/"),
    ("get", f"{ADMIN}permissions/"),
    ("get", MIGRATE),
    ("post", MIGRATE),
]


@pytest.fixture
def schema(client) -> dict:
    response = client.get(SCHEMA_URL)
    assert response.status_code == HTTPStatus.OK
    return response.json()


def _resolve(schema: dict, node: dict) -> dict:
    """Follows `$ref` (also a lone `allOf: [$ref]`) to the component it names."""
    if "allOf" in node and len(node["allOf"]) == 1:
        node = node["allOf"][0]
    if "$ref" in node:
        name = node["$ref"].removeprefix("#/components/schemas/")
        return _resolve(schema, schema["components"]["schemas"][name])
    return node


def _operation(schema: dict, method: str, path: str) -> dict:
    return schema["paths"][path][method]


def _json_response(schema: dict, method: str, path: str, status: int) -> dict:
    response = _operation(schema, method, path)["responses"][str(status)]
    return _resolve(schema, response["content"]["application/json"]["schema"])


def _security_schemes(schema: dict) -> dict:
    return schema["components"]["securitySchemes"]


def test_schema_is_served_as_openapi_3_json(client):
    response = client.get(SCHEMA_URL)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert response.json()["openapi"].startswith("3.")


def test_schema_is_served_as_json_for_an_accept_header(client):
    response = client.get(
        "/api/v1/schema/", headers={"accept": "application/vnd.oai.openapi+json"}
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["openapi"].startswith("3.")


@pytest.mark.parametrize(("method", "path", "status"), CONTRACT_OPERATIONS)
def test_schema_documents_contract_operation_with_its_success_status(
    schema, method, path, status
):
    operation = schema["paths"].get(path, {}).get(method)

    assert operation is not None, f"{method.upper()} {path} is not documented"
    assert str(status.value) in operation["responses"]


@pytest.mark.parametrize(("method", "path", "status"), CONTRACT_OPERATIONS)
def test_schema_documents_no_other_success_status(schema, method, path, status):
    responses = _operation(schema, method, path)["responses"]

    successes = {code for code in responses if code.startswith("2")}

    assert successes == {str(status.value)}


def test_schema_documents_no_put_on_admin_users(schema):
    operations = schema["paths"][f"{ADMIN}users/{{id}}/"]

    assert "put" not in operations


@pytest.mark.parametrize(
    ("method", "path", "required", "optional"), CONTRACT_REQUEST_BODIES
)
def test_schema_documents_contract_request_body_fields(
    schema, method, path, required, optional
):
    body = _operation(schema, method, path)["requestBody"]["content"]

    component = _resolve(schema, body["application/json"]["schema"])

    assert set(component["properties"]) == required | optional
    assert set(component.get("required", [])) == required


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", f"{AUTH}logout-all/"),
        ("get", f"{AUTH}sessions/"),
        ("delete", f"{AUTH}sessions/{{id}}/"),
        ("get", f"{AUTH}me/"),
    ],
)
def test_schema_documents_no_request_body_where_the_contract_has_none(
    schema, method, path
):
    operation = _operation(schema, method, path)

    assert "requestBody" not in operation


@pytest.mark.parametrize(
    ("method", "path", "status", "fields"), CONTRACT_RESPONSE_BODIES
)
def test_schema_documents_contract_response_fields(
    schema, method, path, status, fields
):
    component = _json_response(schema, method, path, status)

    assert set(component["properties"]) == fields


def test_user_component_has_the_contract_user_fields(schema):
    user = schema["components"]["schemas"]["User"]

    assert set(user["properties"]) == USER_FIELDS


def test_user_fields_in_sign_in_answers_are_the_user_component(schema):
    sign_in = _json_response(schema, "post", f"{AUTH}login/", HTTPStatus.OK)

    user = _resolve(schema, sign_in["properties"]["user"])

    assert set(user["properties"]) == USER_FIELDS


def test_sessions_list_is_a_plain_list_of_sessions(schema):
    response = _operation(schema, "get", f"{AUTH}sessions/")["responses"]["200"]

    body = response["content"]["application/json"]["schema"]

    assert body["type"] == "array"
    assert set(_resolve(schema, body["items"])["properties"]) == SESSION_FIELDS


@pytest.mark.parametrize(
    ("path", "item_fields"),
    [
        (f"{ADMIN}users/", ADMIN_USER_FIELDS),
        (f"{ADMIN}access-requests/", ACCESS_REQUEST_FIELDS),
        (f"{ADMIN}groups/", GROUP_FIELDS),
        (f"{ADMIN}permissions/", PERMISSION_FIELDS),
    ],
)
def test_admin_lists_are_pages(schema, path, item_fields):
    page = _json_response(schema, "get", path, HTTPStatus.OK)

    assert set(page["properties"]) == {"count", "next", "previous", "results"}
    results = page["properties"]["results"]
    assert set(_resolve(schema, results["items"])["properties"]) == item_fields


@pytest.mark.parametrize(
    ("path", "parameters"),
    [
        (
            f"{ADMIN}users/",
            {"status", "role", "search", "ordering", "page", "page_size"},
        ),
        (f"{ADMIN}access-requests/", {"status", "page", "page_size"}),
        (f"{ADMIN}groups/", {"search", "ordering", "page", "page_size"}),
        (f"{ADMIN}permissions/", {"search", "page", "page_size"}),
    ],
)
def test_admin_lists_document_their_query_parameters(schema, path, parameters):
    documented = _operation(schema, "get", path)["parameters"]

    names = {p["name"] for p in documented if p["in"] == "query"}

    assert parameters <= names


def test_a_groups_permissions_are_documented_as_codename_strings(schema):
    group = schema["components"]["schemas"]["Group"]

    permissions = group["properties"]["permissions"]

    assert permissions["type"] == "array"
    assert permissions["items"]["type"] == "string"


def test_me_lists_groups_and_permissions_as_strings(schema):
    me = _json_response(schema, "get", f"{AUTH}me/", HTTPStatus.OK)

    for name in ("groups", "permissions"):
        assert me["properties"][name]["items"]["type"] == "string", name


def test_access_request_status_filter_lists_the_contract_states(schema):
    parameters = _operation(schema, "get", f"{ADMIN}access-requests/")["parameters"]

    status = next(p for p in parameters if p["name"] == "status")

    assert set(status["schema"]["enum"]) == {"pending", "approved", "rejected"}


def test_access_request_decided_by_is_nullable(schema):
    access_request = schema["components"]["schemas"]["AccessRequest"]

    decided_by = access_request["properties"]["decided_by"]

    assert decided_by.get("nullable") is True


@pytest.mark.parametrize(("method", "path", "statuses"), CONTRACT_ERRORS)
def test_schema_documents_contract_error_statuses(schema, method, path, statuses):
    responses = _operation(schema, method, path)["responses"]

    documented = {int(code) for code in responses if code.startswith("4")}

    assert statuses <= documented


def test_every_documented_error_has_the_shared_error_body(schema):
    bodies = {
        (method.upper(), path, code): _resolve(
            schema, response["content"]["application/json"]["schema"]
        )
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        for code, response in operation["responses"].items()
        if code.startswith("4")
    }

    # A sign-in's 401 may be `mfa_required`, which adds the token for mfa/verify/.
    mfa_required = {
        ("POST", f"{AUTH}{name}/", "401")
        for name in ("login", "google", "code/confirm")
    }
    assert bodies
    for where, body in bodies.items():
        extra = {"mfa_token"} if where in mfa_required else set()
        assert set(body["properties"]) == {"detail", "code", "errors", *extra}, where
        assert set(body["required"]) == {"detail", "code"}, where


def test_schema_declares_the_bearer_security_scheme(schema):
    schemes = _security_schemes(schema)

    bearer = [
        scheme
        for scheme in schemes.values()
        if scheme["type"] == "http" and scheme["scheme"] == "bearer"
    ]
    assert len(bearer) == 1
    assert bearer[0]["bearerFormat"] == "JWT"


@pytest.mark.parametrize(("method", "path"), BEARER_OPERATIONS)
def test_protected_operation_requires_the_bearer_scheme(schema, method, path):
    security = _operation(schema, method, path).get("security", [])

    bearer_names = {
        name
        for name, scheme in _security_schemes(schema).items()
        if scheme.get("scheme") == "bearer"
    }
    assert security
    assert all(set(requirement) & bearer_names for requirement in security)


@pytest.mark.parametrize(("method", "path"), PUBLIC_OPERATIONS)
def test_public_operation_has_no_security_requirement(schema, method, path):
    security = _operation(schema, method, path).get("security", [])

    # An empty requirement object ({}) means "no authentication needed".
    assert all(requirement == {} for requirement in security)
    assert "security" not in schema


def test_schema_validates_without_warnings(tmp_path):
    output = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", output)

    assert output.read_text().startswith("openapi: 3.")


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_docs_page_answers_html(client, path):
    response = client.get(path)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/html")
    assert b"/api/v1/schema/" in response.content


@pytest.mark.parametrize(
    ("method", "path"),
    [("patch", f"{ADMIN}users/{{id}}/"), ("delete", f"{AUTH}me/")],
)
def test_schema_documents_last_admin_where_the_last_admin_is_refused(
    schema, method, path
):
    response = _operation(schema, method, path)["responses"]["400"]

    assert "`last_admin`" in response["description"]


def _operations(schema: dict):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


def test_every_operation_behind_a_token_documents_401(schema):
    missing = [
        (method, path)
        for method, path, operation in _operations(schema)
        if any(operation.get("security", [])) and "401" not in operation["responses"]
    ]

    # Found by schemathesis: GET /admin/activity/ answered an undocumented 401.
    assert missing == []


def test_every_operation_with_a_path_parameter_documents_404(schema):
    missing = [
        (method, path)
        for method, path, operation in _operations(schema)
        if any(p["in"] == "path" for p in operation.get("parameters", []))
        and "404" not in operation["responses"]
    ]

    assert missing == []


def test_every_paginated_list_documents_400_and_404_for_a_bad_page(schema):
    lists = [
        (path, operation)
        for _, path, operation in _operations(schema)
        if any(p["name"] == "page" for p in operation.get("parameters", []))
    ]

    # Found by schemathesis: ?page=0 answered an undocumented 404.
    assert lists
    for path, operation in lists:
        assert {"400", "404"} <= set(operation["responses"]), path


def test_every_operation_with_a_body_documents_413_and_415(schema):
    missing = [
        (method, path)
        for method, path, operation in _operations(schema)
        if "requestBody" in operation
        and not {"400", "413", "415"} <= set(operation["responses"])
    ]

    assert missing == []


def test_admin_only_operations_document_403(schema):
    admin_paths = [path for path in schema["paths"] if path.startswith(ADMIN)]

    assert admin_paths
    for path in [*admin_paths, MIGRATE]:
        for method, operation in schema["paths"][path].items():
            assert "403" in operation["responses"], (method, path)


def test_page_size_is_documented_as_a_whole_number_from_one(schema):
    parameters = _operation(schema, "get", "/api/v1/resources/")["parameters"]

    page_size = next(p for p in parameters if p["name"] == "page_size")

    assert page_size["schema"] == {"type": "integer", "minimum": 1}


def test_optional_query_parameters_may_be_sent_empty(schema):
    parameters = _operation(schema, "get", f"{ADMIN}activity/")["parameters"]

    assert all(p["allowEmptyValue"] for p in parameters if p["in"] == "query")


def test_avatar_url_is_a_uri_or_empty(schema):
    avatar_url = schema["components"]["schemas"]["User"]["properties"]["avatar_url"]

    assert {"type": "string", "maxLength": 0} in avatar_url["anyOf"]
    assert {"type": "string", "format": "uri"} in avatar_url["anyOf"]


def test_account_deletion_documents_its_password_body(schema):
    # drf-spectacular drops DELETE bodies; docs/API.md has DELETE me/ take {"password"}.
    body = _operation(schema, "delete", f"{AUTH}me/")["requestBody"]

    reference = body["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][reference.rsplit("/", 1)[1]]
    assert set(component["properties"]) == {"password"}


def test_a_delete_that_declares_no_body_documents_none(schema):
    operation = _operation(schema, "delete", "/api/v1/resources/{id}/")

    assert "requestBody" not in operation


def test_resource_file_component_lists_variants_as_urls_by_size(schema):
    file = schema["components"]["schemas"]["ResourceFile"]

    variants = file["properties"]["variants"]

    assert "variants" in file["required"]
    assert variants["type"] == "object"
    assert variants["additionalProperties"] == {"type": "string", "format": "uri"}
