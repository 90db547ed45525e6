"""The API paths of follow-ups and the in-app inbox (under `/api/v1/`, namespace `api`)."""

from clinic.core.api import PackageRouter
from monitoring.followups.api import FollowUpViewSet, InboxViewSet

router = PackageRouter()
router.register("followups", FollowUpViewSet, basename="followup")
router.register("inbox", InboxViewSet, basename="inbox")

urlpatterns = router.urls
