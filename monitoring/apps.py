from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # patients may not import monitoring: register the PHQ-9 item 9 rule with its hooks.
        from monitoring.audit.history import history_connect
        from monitoring.outcomes.services import paused_check_schedule, suicide_risk_review_ensure
        from patients.hooks import assessment_hook_register

        assessment_hook_register("monitoring.suicide_risk_review", suicide_risk_review_ensure)
        assessment_hook_register("monitoring.paused_phq9_check", paused_check_schedule)
        # Every historical record names who or what caused it (a user, a rule, a Celery task).
        history_connect()

        # clinic may not import monitoring: a change of the on-call roster is pushed to the boards.
        from clinic.oncall import ROSTER_CHANGED
        from monitoring.live import publish

        ROSTER_CHANGED.append(lambda site_id: publish.site_changed(site_id, publish.ROSTER))
