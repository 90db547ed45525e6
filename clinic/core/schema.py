"""OpenAPI: every operation documents the errors it can answer (issue: every error documented)."""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class FieldErrorsSerializer(serializers.Serializer):
    """400: one entry per refused field, each a list of messages; `non_field_errors` for the rest."""

    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)


class RuleErrorSerializer(serializers.Serializer):
    """409 (or 404): a rule refused the request. Extra keys (such as `unmet`) may follow."""

    detail = serializers.CharField()
    rule = serializers.CharField()


class DetailErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


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
        errors: dict[str, Any] = {"400": FieldErrorsSerializer}
        if self.get_auth():
            errors["401"] = DetailErrorSerializer
            errors["403"] = DetailErrorSerializer
        if "{" in self.path or self.method != "GET":
            errors["404"] = DetailErrorSerializer
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            errors["409"] = RuleErrorSerializer
        errors["429"] = DetailErrorSerializer
        for code, serializer in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(serializer, code)
        return responses
