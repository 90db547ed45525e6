"""The keys of follow-ups: the one place a key is spelled. A follow-up's key makes it unique
(`INSERT ... ON CONFLICT DO NOTHING`), so the planner and the services that also create
follow-ups must build the same string for the same reason; these strings are stored in open
rows and must never change shape.

The shape is `<kind>:<subject>:<id>[:<part>...]`, e.g. `rems_form:infusions.infusionsession:42`,
`suicide_risk_review:assessment:7` or `booster_due:course:3:2026-12-10`.
"""

from datetime import date

from django.db import models

from monitoring.followups.models import FollowUpKind


def followup_key(kind: str, subject_type: str, subject_id: object, *parts: object) -> str:
    return f"{kind}:{subject_type}:{subject_id}" + "".join(f":{part}" for part in parts)


def subject_label(obj: models.Model) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


def record_key(kind: str, subject: models.Model, *parts: object) -> str:
    """A follow-up about one record, named by its model label (`infusions.infusionsession`)."""
    return followup_key(kind, subject_label(subject), subject.pk, *parts)


def suicide_risk_review_key(assessment_id: int) -> str:
    return followup_key(FollowUpKind.SUICIDE_RISK_REVIEW, "assessment", assessment_id)


def booster_due_key(course_id: int, due: date) -> str:
    return followup_key(FollowUpKind.BOOSTER_DUE, "course", course_id, due.isoformat())


def paused_phq9_key(course_id: int, due: date) -> str:
    # Kind MID_INTERVAL_PHQ9, but keyed "paused_phq9" since it was first written (open rows keep it).
    return followup_key("paused_phq9", "course", course_id, due.isoformat())
