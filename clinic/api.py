"""Sign-in, sites and chairs."""

from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.core.api import actor, validated
from clinic.core.permissions import RolePermission
from clinic.core.roles import STAFF
from clinic.core.security import token_is_expired
from clinic.models import Chair, Site, SiteOpeningHours


class TokenApi(APIView):
    """`POST` exchanges a username and password for a token; `DELETE` revokes it."""

    permission_classes = (AllowAny,)
    throttle_scope = "sign_in"

    def get_permissions(self) -> list[Any]:
        if self.request.method == "DELETE":
            return [IsAuthenticated()]
        return [AllowAny()]

    @extend_schema(
        request=AuthTokenSerializer,
        responses={200: inline_serializer("Token", {"token": serializers.CharField()})},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = validated(AuthTokenSerializer, request.data, context={"request": request})
        user = serializer["user"]
        token, _ = Token.objects.get_or_create(user=user)
        if token_is_expired(token):
            token.delete()
            token = Token.objects.create(user=user)
        return Response({"token": token.key})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        Token.objects.filter(user=actor(request)).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class SiteOpeningHoursSerializer(serializers.ModelSerializer):
    class Meta:
        model = SiteOpeningHours
        fields = ("weekday", "opens_at", "closes_at", "closed")


class SiteSerializer(serializers.ModelSerializer):
    opening_hours = SiteOpeningHoursSerializer(
        many=True, read_only=True, help_text="Per weekday (0 = Monday); a missing weekday uses opens_at-closes_at."
    )

    class Meta:
        model = Site
        fields = (
            "id",
            "name",
            "code",
            "time_zone",
            "opens_at",
            "closes_at",
            "opening_hours",
            "infusions_per_nurse",
            "default_nurses_on_duty",
            "prep_minutes",
        )


class ChairSerializer(serializers.ModelSerializer):
    class Meta:
        model = Chair
        fields = ("id", "site", "name", "is_active")


class SiteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"*": STAFF}
    serializer_class = SiteSerializer
    queryset = Site.objects.prefetch_related("opening_hours").order_by("name")


class ChairViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = (RolePermission,)
    roles: ClassVar[dict[str, Any]] = {"*": STAFF}
    serializer_class = ChairSerializer
    queryset = Chair.objects.order_by("site_id", "name")
    filterset_fields = ("site", "is_active")
