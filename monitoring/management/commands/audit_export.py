"""`manage.py audit_export {history,access} [--format csv|json] [--since ISO] [--until ISO]
[--model app.Model] [--patient ID] [--output FILE]`: the audit trail for an inspector."""

from typing import Any

from django.core.management.base import BaseCommand

from clinic.core.commands import iso_datetime
from clinic.core.exports import FORMATS, export_text, export_write
from monitoring.audit import services as audit


class Command(BaseCommand):
    help = "Export the audit trail: change history or the patient access log (CSV or JSON)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("kind", choices=("history", "access"))
        parser.add_argument("--format", choices=FORMATS, default="csv")
        parser.add_argument("--since")
        parser.add_argument("--until")
        parser.add_argument("--model", help="history only: app_label.Model")
        parser.add_argument("--patient", type=int, help="access only: one patient's reads")
        parser.add_argument("--output", help="Write to this file (default: standard output).")

    def handle(self, *args: Any, **options: Any) -> None:
        since, until = iso_datetime(options["since"]), iso_datetime(options["until"])
        columns: tuple[str, ...]
        if options["kind"] == "history":
            columns, rows = audit.HISTORY_COLUMNS, audit.history_rows(since=since, until=until, model=options["model"])
        else:
            columns, rows = (
                audit.ACCESS_COLUMNS,
                audit.access_rows(since=since, until=until, patient_id=options["patient"]),
            )
        export_write(self, export_text(options["format"], columns, rows), options["output"])
