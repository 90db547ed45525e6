"""Checks that later apps register with `patients` when Django starts (DESIGN.md: a lower app
never imports a higher one; the higher one registers a callback).

`assessment_recorded` callbacks run inside the transaction that stores the assessment, so
whatever they write (the suicide-risk review follow-up) commits or rolls back with it.
`monitoring.apps.MonitoringConfig.ready()` registers the PHQ-9 item 9 rule here.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from patients.models import Assessment

AssessmentHook = Callable[["Assessment"], object]

_assessment_hooks: dict[str, AssessmentHook] = {}


def assessment_hook_register(name: str, hook: AssessmentHook) -> None:
    """Register (or replace, by name: `ready()` may run twice) a callback for new assessments."""
    _assessment_hooks[name] = hook


def assessment_hooks() -> list[AssessmentHook]:
    return list(_assessment_hooks.values())


def assessment_hooks_run(assessment: "Assessment") -> None:
    for hook in assessment_hooks():
        hook(assessment)
