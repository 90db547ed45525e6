"""The protocol library API (read-only; admins edit it in the Django admin)."""

from typing import Any, ClassVar

from django.db.models import QuerySet
from rest_framework import mixins, serializers, viewsets

from clinic.core.api import actor
from clinic.core.permissions import RolePermission
from clinic.core.roles import STAFF
from infusions.protocols.models import Protocol
from infusions.protocols.selectors import protocol_list


class ProtocolSerializer(serializers.ModelSerializer):
    unit = serializers.CharField(read_only=True)

    class Meta:
        model = Protocol
        fields = (
            "id",
            "code",
            "name",
            "drug",
            "route",
            "dosing_mode",
            "unit",
            "default_dose",
            "soft_min",
            "soft_max",
            "hard_max",
            "max_total_mg",
            "dose_step_mg",
            "default_concentration_mg_per_ml",
            "duration_minutes",
            "observation_minutes",
            "induction_sessions",
            "induction_sessions_per_week",
            "schedule",
            "evidence_grade",
            "evidence",
            "preparation_instructions",
            "min_interval_days",
            "extend_step_days",
            "max_interval_days",
            "exit_after_stable_at_max",
            "is_active",
        )


class ProtocolViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The drug library. Changed only by admins, in the Django admin."""

    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"*": STAFF}
    serializer_class = ProtocolSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Protocol]:
        return protocol_list(user=actor(self.request))
