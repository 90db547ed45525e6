"""OpenAPI: every operation documents the errors it can answer (issue: every error documented)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic.core.pagination import HeaderLimitOffsetPagination


class FieldErrorsSerializer(serializers.Serializer):
    """400: one entry per refused field, each a list of messages; `non_field_errors` for the rest."""

    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)


class RuleErrorSerializer(serializers.Serializer):
    """409 (or 404): a rule refused the request. Extra keys (such as `unmet`) may follow."""

    detail = serializers.CharField()
    rule = serializers.CharField()


class DetailErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


# JSON values stored in JSONFields, typed for the schema (the value is passed through as is).
@extend_schema_field({"type": "array", "items": {"type": "string"}})
class StringListField(serializers.JSONField):
    """A list of strings (reasons, flags, rule names)."""


@extend_schema_field({"type": "array", "items": {"type": "integer"}})
class IntegerListField(serializers.JSONField):
    """A list of whole numbers (item scores)."""


@extend_schema_field({"type": "object", "additionalProperties": True})
class JsonObjectField(serializers.JSONField):
    """A JSON object whose keys depend on the record (event data, details)."""


@extend_schema_field({"type": "array", "items": {"type": "object", "additionalProperties": {"type": "string"}}})
class StringMapListField(serializers.JSONField):
    """A list of objects of strings (medication flags: medication, flag, advice)."""


class ClinicAutoSchema(AutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> Any:
        self._hint_model()
        return super().get_operation(*args, **kwargs)

    def _hint_model(self) -> None:
        """Views scope their queryset to the signed-in user, which the schema generator does not
        have; tell it the model from the view's model serializer instead (no query runs)."""
        view = self.view
        if getattr(view, "queryset", None) is not None or not hasattr(view, "get_serializer_class"):
            return
        try:
            serializer_class = view.get_serializer_class()
        except Exception:  # a view without a fixed serializer: nothing to hint
            return
        model = getattr(getattr(serializer_class, "Meta", None), "model", None)
        if model is not None:
            setattr(view, "queryset", model._default_manager.none())  # noqa: B010

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        # A view whose errors have another shape names it (the FHIR API: OperationOutcome).
        own = getattr(self.view, "error_serializer", None)
        errors: dict[str, Any] = {"400": own or FieldErrorsSerializer}
        if self.get_auth():
            errors["401"] = own or DetailErrorSerializer
            errors["403"] = own or DetailErrorSerializer
        if "{" in self.path or self.method != "GET" or own is not None:  # FHIR: a search can name an unknown patient
            errors["404"] = own or DetailErrorSerializer
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            errors["409"] = own or RuleErrorSerializer
        errors["429"] = own or DetailErrorSerializer
        for code, serializer in errors.items():
            if code not in responses:
                media_types = ["application/json"] if own is None else self.map_renderers("media_type")
                responses[code] = self._get_response_for_code(serializer, code, media_types=media_types)
        return responses

    def _get_response_headers_for_code(self, status_code: str, direction: str = "response") -> dict[str, Any]:
        """Lists paged by `HeaderLimitOffsetPagination` declare the headers the paging is in."""
        headers: dict[str, Any] = super()._get_response_headers_for_code(status_code, direction)
        paginator = self._get_paginator()
        if (
            status_code == "200"
            and self.method == "GET"
            and isinstance(paginator, HeaderLimitOffsetPagination)
            and self._is_list_view()
        ):
            headers.update(PAGINATION_HEADERS)
        return headers


PAGINATION_HEADERS = {
    "X-Total-Count": {"schema": {"type": "integer"}, "description": "How many rows the list has in all."},
    "Link": {
        "schema": {"type": "string"},
        "description": 'RFC 8288 links to the other pages: `<url>; rel="next"`, `<url>; rel="prev"`.',
    },
}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Bearer <token>`: the same API token as `Token <token>`."""

    target_class = "clinic.core.security.BearerTokenAuthentication"
    name = "bearerAuth"
    priority = 1

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "description": "The token from POST /api/v1/auth/token/."}


def one_or_many_hook(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing: an operation marked `x-one-or-many` takes (and answers) one object or a
    list of them; the generator only wrote the list."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or not operation.pop("x-one-or-many", False):
                continue
            bodies = [operation.get("requestBody", {})] + [
                response for code, response in operation.get("responses", {}).items() if code.startswith("2")
            ]
            for body in bodies:
                for media in body.get("content", {}).values():
                    schema = media.get("schema", {})
                    if schema.get("type") == "array" and "items" in schema:
                        media["schema"] = {"oneOf": [schema["items"], {**schema, "minItems": 1}]}
    return result


def email_default_hook(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing: a blank-allowed e-mail field becomes `oneOf [email, empty]`, with its
    default `""` inside the e-mail branch (invalid there: "" is no e-mail). Move the default
    to the property, where it is valid (openapi-spec-validator checks it)."""

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for branch in node.get("oneOf", []):
                if isinstance(branch, dict) and branch.get("format") == "email" and "default" in branch:
                    node["default"] = branch.pop("default")
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(result.get("components", {}))
    return result
