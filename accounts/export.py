"""Streamed exports of the audit log (JSON Lines or CSV), shared by the reviewer API and the console."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from django.http import StreamingHttpResponse

from accounts import audit, selectors
from accounts.models import AuditEntry
from accounts.serializers import AuditEntryOut

CSV_FIELDS = list(AuditEntryOut.Meta.fields)
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


def _csv_cell(value: Any) -> str:
    text = (
        json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else ("" if value is None else str(value))
    )
    # Spreadsheets execute cells that start with these; reviewers open exports in them.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_rows(filters: dict[str, Any], fmt: str) -> Iterator[str]:
    """The filtered log, newest first, one line at a time."""
    qs = selectors.audit_search(filters)
    if fmt == "csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerow(CSV_FIELDS)
        yield buffer.getvalue()
    last_id: int | None = None
    while True:
        # Keyset batches keep memory flat however large the export is.
        batch_qs = qs if last_id is None else qs.filter(id__lt=last_id)
        batch: list[AuditEntry] = list(batch_qs[:1000])
        if not batch:
            return
        for row in AuditEntryOut(batch, many=True).data:
            if fmt == "csv":
                buffer = io.StringIO()
                csv.writer(buffer).writerow([_csv_cell(row[f]) for f in CSV_FIELDS])
                yield buffer.getvalue()
            else:
                yield json.dumps(row, sort_keys=True, default=str) + "\n"
        last_id = batch[-1].id


def export_response(filters: dict[str, Any], fmt: str) -> StreamingHttpResponse:
    """Record the export in the log, then stream it as a download."""
    audit.record("audit.exported", payload={"format": fmt, "filters": {k: str(v) for k, v in filters.items()}})
    response = StreamingHttpResponse(export_rows(filters, fmt), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="talkgate-audit.{fmt}"'
    return response
