"""`manage.py ledger_export [--format csv|json] [--site CODE] [--since ISO] [--until ISO] [--output FILE]`

The controlled-substance ledger for an inspector (CLINICAL.md §8, 21 CFR 1304.04): every
entry in time order, one row each."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from clinic.core.commands import iso_datetime
from clinic.core.exports import FORMATS, export_text, export_write
from clinic.core.roles import Role
from clinic.models import Site, User
from infusions.ledger import selectors as ledger_selectors


class Command(BaseCommand):
    help = "Export the controlled-substance ledger (CSV or JSON)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--format", choices=FORMATS, default="csv")
        parser.add_argument("--site", help="Site code (default: every site).")
        parser.add_argument("--since", help="From this ISO 8601 date-time.")
        parser.add_argument("--until", help="Before this ISO 8601 date-time.")
        parser.add_argument("--output", help="Write to this file (default: standard output).")

    def handle(self, *args: Any, **options: Any) -> None:
        site_id = None
        if options["site"]:
            site = Site.objects.filter(code=options["site"]).first()
            if site is None:
                raise CommandError(f"No site with code {options['site']!r}.")
            site_id = site.pk
        reader = User(username="ledger_export", role=Role.ADMIN)  # an operator at the console
        rows = ledger_selectors.export_rows(
            user=reader, site_id=site_id, since=iso_datetime(options["since"]), until=iso_datetime(options["until"])
        )
        text = export_text(options["format"], ledger_selectors.EXPORT_COLUMNS, rows)
        export_write(self, text, options["output"])
