"""The OpenAPI schema is valid, served, documents every error, and the docs page loads."""

import pytest
from django.core.management import call_command
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert out.read_text().startswith("openapi: 3")


def test_schema_passes_openapi_spec_validator(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    validate(schema)  # raises on any error (it refused `default: ""` on an e-mail field)
    bodies = {
        tuple(op["requestBody"]["content"])
        for operations in schema["paths"].values()
        for op in operations.values()
        if "requestBody" in op
    }
    assert bodies == {("application/json",)}  # the API reads JSON only (forms are the pages')


def test_schema_endpoint_and_docs_page(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for contract_path in (
        "/api/v1/auth/token/",
        "/api/v1/patients/",
        "/api/v1/patients/{id}/portal-account/",
        "/api/v1/patients/{id}/measurements/",
        "/api/v1/patients/{id}/screenings/",
        "/api/v1/protocols/",
        "/api/v1/courses/",
        "/api/v1/sessions/",
        "/api/v1/sessions/dose-preview/",
        "/api/v1/sessions/{session_pk}/vitals/",
    ):
        assert contract_path in paths, contract_path
    assert client.get("/api/docs/").status_code == 200


def test_every_operation_documents_its_errors(client):
    """Every error response the API can give is in the schema (400 always; 401/403 when
    authenticated; 404 on object paths and writes; 409 on writes)."""
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    for path, operations in paths.items():
        for method, op in operations.items():
            codes = set(op["responses"])
            assert "400" in codes, (method, path)
            if any(op.get("security", [])):  # an operation that needs a signed-in user
                assert {"401", "403"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if method in ("post", "put", "patch", "delete"):
                assert "409" in codes, (method, path)
