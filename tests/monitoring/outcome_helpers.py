"""Helpers for the outcome and maintenance tests: synthetic patients driven through the API."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone
from rest_framework.test import APIClient

from infusions.scheduling.models import Appointment
from infusions.sessions.models import InfusionSession, TreatmentCourse
from patients.scoring import INSTRUMENTS
from tests.factories import (
    ChairFactory,
    CourseFactory,
    MeasurementFactory,
    PatientFactory,
    ScreeningFactory,
    SessionFactory,
)


def items_for(instrument: str, total: int, *, item9: int = 0) -> list[int]:
    """Items adding up to `total`, filled from item 1; PHQ-9 item 9 set apart."""
    spec = INSTRUMENTS[instrument]
    items = [0] * spec.item_count
    remaining = total
    order = list(range(spec.item_count))
    if instrument == "PHQ9":
        items[8] = item9
        remaining -= item9
        order.remove(8)
    for index in order:
        take = min(spec.item_max, remaining)
        items[index] = take
        remaining -= take
    assert remaining == 0, (instrument, total)
    return items


def client_for(user: Any) -> APIClient:
    """Force-authenticated (a year of frozen time outlives any token)."""
    client = APIClient()
    client.force_authenticate(user)
    return client


@dataclass
class Journey:
    """One synthetic patient's course, driven step by step in frozen time."""

    course: TreatmentCourse
    clinician: APIClient
    nurse: APIClient
    clock: Any  # the time_machine fixture
    tz: Any
    log: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def start(cls, *, site, users, clock, protocol, start: datetime, chairs: int = 2, indication: str = "trd"):
        clock.move_to(start - timedelta(days=2), tick=False)
        for _ in range(chairs):
            ChairFactory(site=site)
        patient = PatientFactory(site=site)
        MeasurementFactory(patient=patient)
        ScreeningFactory(patient=patient, valid_until=start + timedelta(days=800))
        course = CourseFactory(patient=patient, protocol=protocol, created_by=users["clinician"], indication=indication)
        return cls(course, client_for(users["clinician"]), client_for(users["nurse"]), clock, site.tz)

    def at(self, when: datetime) -> None:
        self.clock.move_to(when, tick=False)

    def today(self) -> date:
        return timezone.now().astimezone(self.tz).date()

    def score(self, total: int, *, item9: int = 0, instrument: str = "PHQ9") -> dict[str, Any]:
        r = self.nurse.post(
            f"/api/v1/patients/{self.course.patient_id}/assessments/",
            {"instrument": instrument, "items": items_for(instrument, total, item9=item9)},
            format="json",
        )
        assert r.status_code == 201, r.content
        return r.json()

    def session(self, **kwargs: Any) -> InfusionSession:
        now = timezone.now()
        return SessionFactory(
            course=self.course,
            status="discharged",
            started_at=now,
            dosing_ended_at=now + timedelta(minutes=40),
            **kwargs,
        )

    def recommendation(self) -> dict[str, Any]:
        r = self.clinician.get(f"/api/v1/courses/{self.course.id}/maintenance-recommendation/")
        assert r.status_code == 200, r.content
        body = r.json()
        self.log.append({"at": timezone.now(), **body})
        return body

    def decide(self, how: str = "accept", **body: Any) -> dict[str, Any]:
        r = self.clinician.post(
            f"/api/v1/courses/{self.course.id}/maintenance-recommendation/{how}/", body, format="json"
        )
        assert r.status_code == 200, r.content
        return r.json()

    def booked(self, decision: dict[str, Any]) -> Appointment:
        return Appointment.objects.get(pk=decision["decision"]["appointment"])

    def visit(self, when: datetime, total: int, *, item9: int = 0, **session: Any) -> dict[str, Any]:
        """A questionnaire 2 hours before, the session, then the recommendation 3 hours after."""
        self.at(when - timedelta(hours=2))
        self.score(total, item9=item9)
        self.at(when)
        self.session(**session)
        self.at(when + timedelta(hours=3))
        return self.recommendation()

    def induction(self, start: datetime, days: list[int], scores: dict[int, int], baseline: int) -> dict[str, Any]:
        """Baseline the day before, sessions on `days` (scores before the session of those
        indexes), and the recommendation after the last one."""
        self.at(start - timedelta(days=1))
        self.score(baseline)
        for index, day in enumerate(days):
            when = start + timedelta(days=day)
            if index in scores:
                self.at(when - timedelta(hours=2))
                self.score(scores[index])
            self.at(when)
            self.session()
        self.at(start + timedelta(days=days[-1], hours=3))
        return self.recommendation()
