"""Export rendering: the one home of how rows leave the service as CSV or JSON (the audit
trail, the controlled-substance ledger, the outcomes report; their API views and their
`manage.py` commands). A selector yields rows (dicts keyed by the export's columns, in time
order where the rows are events); this module only renders them.

The same two shapes everywhere, readable as they are by `pandas.read_csv` and
`pandas.read_json` (tests/test_exports.py):
- CSV: a header of the columns, then one line per row; nested values (changes, lists) as JSON.
- JSON: a list of records, one object per row with the same keys (an empty list when there
  are none).

The API chooses by the `Accept` header (`text/csv`, `application/json`) or by one query
parameter, `format=csv|json` (it wins over Accept); an export names its default (the first of
its `renderer_classes`). Anything else is 406. The commands take `--format csv|json`.
"""

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.management.base import BaseCommand
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.views import APIView

FORMATS = ("csv", "json")


def _cell(value: Any) -> Any:
    return json.dumps(value, cls=JSONEncoder) if isinstance(value, dict | list) else value


def rows_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    """A header, then one line per row; nested values (changes, lists) as JSON text."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buffer.getvalue()


def rows_json(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """A list of records, each with exactly the export's columns."""
    return [{name: row.get(name) for name in columns} for row in rows]


def export_text(file_format: str, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    """A command's export: the same bytes the API gives for the same rows."""
    if file_format == "json":
        return json.dumps(rows_json(columns, rows), cls=JSONEncoder, indent=2) + "\n"
    return rows_csv(columns, rows)


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


class JsonRecordsRenderer(JSONRenderer):
    """JSON, with the format name the `format` parameter uses."""

    format = "json"


class ExportNegotiation(DefaultContentNegotiation):
    """`format=` first (an unknown one is 406, not DRF's 404), then `Accept`."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        wanted = format_suffix or request.query_params.get("format")
        if wanted is not None:  # the parameter wins over Accept
            for renderer in renderers:
                if renderer.format == wanted:
                    return renderer, renderer.media_type
            raise exceptions.NotAcceptable(f"format={wanted}: use one of {', '.join(r.format for r in renderers)}.")
        return super().select_renderer(request, renderers, format_suffix)  # type: ignore[return-value]


class ExportApi(APIView):
    """An export endpoint: `export(rows)` answers the rows in the negotiated format, CSV as an
    attachment named after `export_name`. `renderer_classes` puts the default first."""

    content_negotiation_class = ExportNegotiation
    renderer_classes: tuple[type[BaseRenderer], ...] = (CsvRenderer, JsonRecordsRenderer)
    export_name = "export"
    csv_columns: Sequence[str] = ()

    def export(self, rows: Iterable[dict[str, Any]]) -> Response:
        response = Response(rows_json(self.csv_columns, rows))
        if self.request.accepted_renderer.format == "csv":
            response["Content-Disposition"] = f'attachment; filename="{self.export_name}.csv"'
        return response


def export_format_parameter(default: str) -> OpenApiParameter:
    return OpenApiParameter(
        "format",
        str,
        enum=list(FORMATS),
        description=f"csv or json (default {default}); wins over the Accept header (text/csv, application/json).",
    )


def export_responses(record: Any, description: str) -> dict[Any, Any]:
    """The OpenAPI answers of an export: the CSV text and the JSON list of records."""
    return {
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=f"{description}: CSV with a header."),
        (200, "application/json"): OpenApiResponse(record, description=f"{description}: a list of records."),
    }
