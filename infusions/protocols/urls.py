"""The API paths of the protocol library (under `/api/v1/`, namespace `api`)."""

from clinic.core.api import PackageRouter
from infusions.protocols.api import ProtocolViewSet

router = PackageRouter()
router.register("protocols", ProtocolViewSet, basename="protocol")

urlpatterns = router.urls
