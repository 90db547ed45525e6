"""Shared fixtures: one account per role, a ready patient, API clients per role."""

import importlib
import os
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from clinic.core.roles import Role
from clinic.models import User
from infusions.protocols.models import Protocol
from patients.models import Patient
from tests.factories import (
    CourseFactory,
    MeasurementFactory,
    PatientFactory,
    ScreeningFactory,
    SiteFactory,
    UserFactory,
)

# Page tests run the ORM from the test thread while the live server serves Playwright.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROLES = ("admin", "clinician", "nurse", "frontdesk", "patient")


@pytest.fixture(autouse=True)
def _protocol_library(request) -> None:
    """The protocol library comes from a data migration; a transactional test's flush empties
    it for the tests that run after it on the same database. Put it back when it is gone."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
    from django.apps import apps as django_apps

    if not Protocol.objects.exists():
        importlib.import_module("infusions.migrations.0002_protocol_library").load(django_apps, None)


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def site():
    return SiteFactory(code="main", name="Main Site")


@pytest.fixture
def users(db, site) -> dict[str, User]:
    """One account per role; the patient account belongs to `own_patient`."""
    return {role: UserFactory(username=role, role=Role(role)) for role in ROLES}


@pytest.fixture
def own_patient(users, site) -> Patient:
    """The patient account's own record, weighed and screened clear."""
    patient = PatientFactory(site=site, user=users["patient"], given_name="Own")
    MeasurementFactory(patient=patient)
    ScreeningFactory(patient=patient)
    return patient


@pytest.fixture
def other_patient(site) -> Patient:
    """Another patient, weighed and screened clear (82.4 kg)."""
    patient = PatientFactory(site=site, given_name="Other")
    MeasurementFactory(patient=patient)
    ScreeningFactory(patient=patient)
    return patient


@pytest.fixture
def protocol(db) -> Protocol:
    return Protocol.objects.get(code="ket-iv-dep")


@pytest.fixture
def course(other_patient, users, protocol):
    return CourseFactory(patient=other_patient, protocol=protocol, created_by=users["clinician"])


@pytest.fixture
def api() -> Callable[[User | None], APIClient]:
    """`api(user)` is a client authenticated as that user (token auth); `api(None)` is anonymous."""

    def make(user: User | None) -> APIClient:
        client = APIClient()
        if user is not None:
            from rest_framework.authtoken.models import Token

            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make
