"""Export rendering: the one home of how rows leave the service as CSV or JSON (the audit
trail, the controlled-substance ledger, the outcomes report; their API views and their
`manage.py` commands). A selector yields rows (dicts keyed by the export's columns); this
module only renders them."""

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.management.base import BaseCommand
from django.http import HttpResponse
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response

FORMATS = ("csv", "json")


def _cell(value: Any) -> Any:
    return json.dumps(value, default=str) if isinstance(value, dict | list) else value


def rows_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    """A header, then one line per row; nested values (changes, lists) as JSON text."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buffer.getvalue()


def rows_json(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"columns": list(columns), "rows": list(rows)}


def export_text(file_format: str, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    if file_format == "json":
        return json.dumps(rows_json(columns, rows), indent=2, default=str)
    return rows_csv(columns, rows)


def export_response(file_format: str, name: str, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> Any:
    """The API answer: JSON through DRF, or a CSV attachment named `name.csv`."""
    if file_format == "json":
        return Response(rows_json(columns, rows))
    response = HttpResponse(rows_csv(columns, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def export_write(command: BaseCommand, text: str, output: str | None) -> None:
    """A management command's export: to the file given, or to standard output."""
    if output:
        with open(output, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        command.stderr.write(f"Wrote {output}")
    else:
        command.stdout.write(text, ending="")


class CsvRenderer(BaseRenderer):
    """DRF renderer for a list of rows; the view names its columns (`csv_columns`)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, list):
            view = (renderer_context or {}).get("view")
            columns = getattr(view, "csv_columns", None) or (list(data[0]) if data else [])
            return rows_csv(columns, data).encode(self.charset)
        out = io.StringIO()  # an error body: one line per field
        writer = csv.writer(out)
        for key, value in (data or {}).items():
            writer.writerow([key, value])
        return out.getvalue().encode(self.charset)
