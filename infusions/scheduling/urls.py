"""The API paths of appointments, availability and the calendar feeds (under `/api/v1/`, namespace `api`)."""

from django.urls import path

from clinic.core.api import PackageRouter
from infusions.scheduling.api import (
    AppointmentViewSet,
    AvailabilityApi,
    CalendarFeedApi,
    MyAppointmentsApi,
    MyAppointmentsIcsApi,
    MyCalendarLinkApi,
)

router = PackageRouter()
router.register("appointments", AppointmentViewSet, basename="appointment")

urlpatterns = [
    path("availability/", AvailabilityApi.as_view(), name="availability"),
    path("me/appointments/", MyAppointmentsApi.as_view(), name="me-appointments"),
    path("me/appointments.ics", MyAppointmentsIcsApi.as_view(), name="me-appointments-ics"),
    path("me/calendar-link/", MyCalendarLinkApi.as_view(), name="me-calendar-link"),
    path("calendar/<str:token>.ics", CalendarFeedApi.as_view(), name="calendar-feed"),
    *router.urls,
]
