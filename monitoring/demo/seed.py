"""Demo data for `manage.py seed_demo`: one site, the five accounts, patients and a few
weeks of realistic history. Idempotent: a second run changes nothing but the passwords.

History rows are written with the same pure rules the services use (dose calculator,
screening evaluation, NEWS2, alert rules), dated in the past.
"""

import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from clinic.core.roles import Role
from clinic.models import Chair, Site, StaffMember, User
from clinic.policy import site_policy
from infusions.ledger.services import ledger_discharge_check
from infusions.protocols.models import Protocol
from infusions.sessions.models import InfusionSession, SessionStatus
from infusions.sessions.services import course_create, dose_plan, session_draft
from monitoring.alerts.models import Alert
from monitoring.audit.history import history_snapshot
from monitoring.demo.ledger import seed_session_ledger, seed_stock
from monitoring.vitals.models import VitalSign
from monitoring.vitals.rules import baseline_values, vitals_draft
from patients.models import Assessment, AssessmentSource, BodyMeasurement, Patient, Screening
from patients.scoring import INSTRUMENTS, score
from patients.screening import ANSWER_KEYS, age_on, screening_evaluate
from patients.selectors import patient_policy

SITE_CODE = "riverside"
ACCOUNTS = [
    ("admin", Role.ADMIN, "Ada", "Admin"),
    ("clinician", Role.CLINICIAN, "Claire", "Okafor"),
    ("nurse", Role.NURSE, "Noah", "Fischer"),
    ("frontdesk", Role.FRONTDESK, "Farah", "Desai"),
]
FIRST = [
    "Maya",
    "Liam",
    "Sofia",
    "Ethan",
    "Aisha",
    "Lucas",
    "Hannah",
    "Omar",
    "Grace",
    "Mateo",
    "Chloe",
    "Yusuf",
    "Ella",
    "Daniel",
    "Priya",
    "Jonas",
    "Zoe",
    "Samuel",
    "Lena",
    "Tomas",
]
LAST = [
    "Hart",
    "Nguyen",
    "Rossi",
    "Kowalski",
    "Bennett",
    "Haddad",
    "Moreau",
    "Silva",
    "Novak",
    "Brennan",
    "Ito",
    "Mensah",
    "Larsen",
    "Quinn",
    "Varga",
    "Abara",
    "Klein",
    "Duarte",
    "Wolfe",
    "Sato",
]


def seed_site() -> Site:
    site, _ = Site.objects.get_or_create(
        code=SITE_CODE,
        defaults={
            "name": "Riverside Infusion Centre",
            "time_zone": "America/New_York",
            "opens_at": time(7, 30),
            "closes_at": time(19, 0),
            "infusions_per_nurse": 4,
            "default_nurses_on_duty": 2,
        },
    )
    for number in range(1, 9):
        Chair.objects.get_or_create(site=site, name=f"Chair {number}")
    return site


def seed_accounts(site: Site, password: str) -> dict[str, User]:
    users: dict[str, User] = {}
    for username, role, first, last in ACCOUNTS:
        user, _ = User.objects.get_or_create(
            username=username, defaults={"role": role, "first_name": first, "last_name": last}
        )
        user.role = role
        user.is_staff = role == Role.ADMIN
        user.is_superuser = role == Role.ADMIN
        user.set_password(password)
        user.save()
        StaffMember.objects.get_or_create(user=user, defaults={"site": site, "title": role.label})
        users[username] = user
    return users


def _answers(rng: random.Random) -> dict[str, Any]:
    answers: dict[str, Any] = dict.fromkeys(ANSWER_KEYS, False)
    if rng.random() < 0.15:
        answers["substance_use_disorder"] = True
    answers["medications"] = rng.choice([[], ["sertraline"], ["lorazepam"], ["lamotrigine"], ["bupropion"]])
    return answers


def seed_patients(site: Site, password: str, staff: User, count: int = 20) -> list[Patient]:
    rng = random.Random(7)  # noqa: S311 - demo data, not security
    patients = []
    now = timezone.now()
    for index in range(count):
        mrn = f"DEMO{index + 1:04d}"
        birth = date(1950 + rng.randrange(50), rng.randrange(1, 13), rng.randrange(1, 28))
        patient, created = Patient.objects.get_or_create(
            mrn=mrn,
            defaults={
                "given_name": FIRST[index % len(FIRST)],
                "family_name": LAST[index % len(LAST)],
                "birth_date": birth,
                "sex": rng.choice(["female", "male"]),
                "site": site,
                "email": f"{mrn.lower()}@example.org",
            },
        )
        if created:
            weight = Decimal(rng.randrange(520, 1100)) / 10
            height = Decimal(rng.randrange(1550, 1950)) / 10
            # Weighed at the first visit (before the history's sessions) and again lately.
            for days_ago in (25, rng.randrange(1, 10)):
                BodyMeasurement.objects.create(
                    patient=patient,
                    weight_kg=weight,
                    height_cm=height,
                    measured_at=now - timedelta(days=days_ago),
                    recorded_by=staff,
                )
            answers = _answers(rng)
            result = screening_evaluate(
                answers={k: bool(answers[k]) for k in ANSWER_KEYS},
                medications=list(answers["medications"]),
                age=age_on(birth, now.date()),
                relative_age_years=site_policy(site).relative_age_years,
            )
            screened_at = now - timedelta(days=30)
            Screening.objects.create(
                patient=patient,
                answers=answers,
                outcome=result.outcome,
                reasons=result.reasons,
                medication_flags=result.medication_flags,
                screened_at=screened_at,
                valid_until=screened_at + timedelta(days=365),
                screened_by=staff,
            )
        patients.append(patient)
    # The demo patient account is the first patient's portal login.
    first = patients[0]
    user, _ = User.objects.get_or_create(
        username="patient",
        defaults={"role": Role.PATIENT, "first_name": first.given_name, "last_name": first.family_name},
    )
    user.set_password(password)
    user.save()
    if first.user_id != user.pk:
        previous = list(Patient.objects.filter(user=user).exclude(pk=first.pk).values_list("pk", flat=True))
        Patient.objects.filter(pk__in=previous).update(user=None)
        history_snapshot(Patient, previous, rule="demo_portal_account_moved")
        first.user = user
        first.save(update_fields=["user"])
    return patients


def _vitals_row(rng: random.Random, minute: int) -> dict[str, Any]:
    return {
        "systolic": 118 + rng.randrange(0, 30) + (8 if 10 <= minute <= 40 else 0),
        "diastolic": 72 + rng.randrange(0, 14),
        "heart_rate": 64 + rng.randrange(0, 25),
        "spo2": rng.choice([96, 97, 98, 99, 95]),
        "respiratory_rate": rng.choice([12, 14, 16, 18]),
        "temperature_c": Decimal("36.6"),
        "consciousness": "A",
        "on_oxygen": False,
        "moaas": 5 if minute < 0 else rng.choice([3, 4, 5]),
    }


@transaction.atomic
def seed_history(patients: list[Patient], clinician: User, nurse: User) -> int:
    """Courses of ketamine IV for half the patients: induction sessions over the last weeks,
    each with vitals every 10 minutes. Runs only once (skips patients with a course).

    Each session is planned by the dose service as of its own day (`dose_plan(at=...)`: the
    screening and weight gates, the site's limits), and each vitals set is built by
    `vitals_draft` (NEWS2 and the alert rules), so the history is what the service would have
    written; only the clock is the past's."""
    rng = random.Random(11)  # noqa: S311 - demo data
    protocol = Protocol.objects.get(code="ket-iv-dep")
    now = timezone.now()
    created = 0
    for patient in patients[: len(patients) // 2]:
        if patient.courses.exists():
            continue
        course = course_create(actor=clinician, patient=patient, protocol=protocol, indication="trd")
        course_site = patient.site
        assert course_site is not None  # noqa: S101 - seeded at the demo site
        for number in range(rng.randrange(2, 7)):
            day = now - timedelta(days=20 - number * 2 - rng.randrange(0, 2))
            started = day.replace(hour=9 + number % 6, minute=0, second=0, microsecond=0)
            plan = dose_plan(course=course, dose=protocol.default_dose, at=started)
            session = session_draft(
                course=course,
                plan=plan,
                created_by=nurse,
                status=SessionStatus.DISCHARGED,
                started_at=started,
                dosing_ended_at=started + timedelta(minutes=protocol.duration_minutes or 0),
                actual_dose_mg=plan.result.total_dose_mg,
            )
            session.save()
            _seed_session_vitals(rng, session, started, nurse)
            # The drug drawn and given, in the ledger before signing (CLINICAL.md §8); the
            # signing reconciles it, as discharge does.
            seed_session_ledger(session=session, site=course_site, nurse=nurse, at=started)
            ledger_discharge_check(actor=nurse, session=session)
            session.signed_at, session.signed_by = started + timedelta(minutes=110), nurse
            session.save(update_fields=["signed_at", "signed_by", "updated_at"])
            created += 1
    return created


def _seed_session_vitals(rng: random.Random, session: InfusionSession, started: datetime, nurse: User) -> None:
    """A set before start, every 10 minutes of the infusion, every 15 of observation and at
    discharge; their alerts (the same rules as a typed set) were dealt with at the time."""
    baseline = None
    policy = patient_policy(session.course.patient)
    for minute in (-5, 10, 20, 30, 40, 55, 70, 85, 100):
        phase = "baseline" if minute < 0 else "running" if minute <= 40 else "observation"
        if minute == 100:
            phase = "discharge"
        draft = vitals_draft(_vitals_row(rng, minute), phase=phase, baseline=baseline, policy=policy)
        at = started + timedelta(minutes=minute)
        vital = VitalSign.objects.create(
            session=session,
            recorded_at=at,
            recorded_by=nurse,
            phase=phase,
            news2_score=draft.news2.score,
            news2_risk=draft.news2.risk,
            **draft.values,
        )
        for alert in draft.alerts:
            Alert.objects.create(
                session=session,
                vital=vital,
                rule=alert.rule,
                severity=alert.severity,
                message=alert.message,
                raised_at=at,
                status="resolved",
                acknowledged_by=nurse,
                acknowledged_at=at,
                resolved_by=nurse,
                resolved_at=at,
            )
        if phase == "baseline":
            baseline = baseline_values(draft.values)


# PHQ-9 trajectories (CLINICAL.md §5): how the patient's scores move over the induction.
# Per session, the total keeps this share of the previous one (a responder falls below half
# of baseline within a few sessions; a non-responder barely moves).
SCORE_PATTERNS = {"fast_responder": 0.72, "slow_responder": 0.86, "non_responder": 0.97}


def _items(rng: random.Random, instrument: str, total: int) -> list[int]:
    """Random item scores adding up to `total` (PHQ-9 item 9 kept at 0)."""
    spec = INSTRUMENTS[instrument]
    slots = [i for i in range(spec.item_count) if not (instrument == "PHQ9" and i == 8)]
    items = [0] * spec.item_count
    for _ in range(total):
        open_slots = [i for i in slots if items[i] < spec.item_max]
        items[rng.choice(open_slots)] += 1
    return items


def _assessment(patient: Patient, instrument: str, items: list[int], at: datetime, by: User) -> Assessment:
    result = score(instrument, items)
    return Assessment(
        patient=patient,
        instrument=instrument,
        items=list(result.items),
        total=result.total,
        severity=result.severity,
        flags=list(result.flags),
        administered_at=at,
        recorded_by=by,
        source=AssessmentSource.STAFF,
    )


@transaction.atomic
def seed_scores(patients: list[Patient], nurse: User) -> int:
    """A PHQ-9 history for every patient with a course: two baselines before the first
    session, then one before each session, following a response pattern; a GAD-7 at baseline.
    Runs only once per patient (skips patients who already have assessments)."""
    rng = random.Random(13)  # noqa: S311 - demo data
    rows: list[Assessment] = []
    for index, patient in enumerate(patients):
        if patient.assessments.exists():
            continue
        starts = sorted(
            at
            for at in InfusionSession.objects.filter(course__patient=patient).values_list("started_at", flat=True)
            if at is not None
        )
        if not starts:
            continue
        pattern = list(SCORE_PATTERNS)[index % len(SCORE_PATTERNS)]
        total = rng.randrange(16, 24)
        rows.append(_assessment(patient, "PHQ9", _items(rng, "PHQ9", total + 1), starts[0] - timedelta(days=14), nurse))
        rows.append(_assessment(patient, "PHQ9", _items(rng, "PHQ9", total), starts[0] - timedelta(hours=2), nurse))
        rows.append(_assessment(patient, "GAD7", _items(rng, "GAD7", rng.randrange(8, 16)), starts[0], nurse))
        for started in starts[1:]:
            total = max(0, round(total * SCORE_PATTERNS[pattern]) + rng.choice([-1, 0, 0, 1]))
            rows.append(_assessment(patient, "PHQ9", _items(rng, "PHQ9", total), started - timedelta(hours=2), nurse))
    Assessment.objects.bulk_create(rows)
    return len(rows)


def seed_steps(password: str) -> list[tuple[str, Callable[[dict[str, object]], None]]]:
    """The named steps of the seed, run in order with a shared state dict."""

    def site(state: dict[str, Any]) -> None:
        state["site"] = seed_site()

    def accounts(state: dict[str, Any]) -> None:
        state["users"] = seed_accounts(state["site"], password)

    def patients(state: dict[str, Any]) -> None:
        users: dict[str, User] = state["users"]
        state["patients"] = seed_patients(state["site"], password, users["nurse"])

    def stock(state: dict[str, Any]) -> None:
        users: dict[str, User] = state["users"]
        seed_stock(site=state["site"], admin=users["admin"])

    def history(state: dict[str, Any]) -> None:
        users: dict[str, User] = state["users"]
        seed_history(state["patients"], users["clinician"], users["nurse"])

    def scores(state: dict[str, Any]) -> None:
        users: dict[str, User] = state["users"]
        seed_scores(state["patients"], users["nurse"])

    def appointments(state: dict[str, Any]) -> None:
        from monitoring.demo.appointments import seed_past_appointments, seed_upcoming_appointments

        users: dict[str, User] = state["users"]
        seed_past_appointments(site=state["site"], patients=state["patients"], frontdesk=users["frontdesk"])
        seed_upcoming_appointments(site=state["site"], patients=state["patients"], users=users)

    def followups(state: dict[str, Any]) -> None:
        # The reminders of CLINICAL.md §7 for the history above, made by the planner itself
        # (idempotent: a second run creates nothing new).
        from monitoring.followups.planner import followups_plan

        state["followups"] = followups_plan().as_dict()

    def today(state: dict[str, Any]) -> None:
        # Today's board: a session running in a chair, with vitals and an open alert.
        from monitoring.demo.bedside import seed_today

        seed_today(site=state["site"], patients=state["patients"], users=state["users"])

    return [
        ("site and chairs", site),
        ("staff accounts", accounts),
        ("patients", patients),
        ("controlled-substance stock", stock),
        ("history", history),
        ("appointments", appointments),
        ("follow-ups", followups),
        ("today at the chairs", today),
        ("outcome scores", scores),  # last: today's session needs its baseline too
    ]
