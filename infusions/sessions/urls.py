"""The API paths of treatment courses and sessions (creating and dosing them) (under `/api/v1/`, namespace `api`)."""

from clinic.core.api import PackageRouter
from infusions.sessions.api import CourseViewSet, SessionViewSet

router = PackageRouter()
router.register("courses", CourseViewSet, basename="course")
router.register("sessions", SessionViewSet, basename="session")

urlpatterns = router.urls
