"""manage.py audit_verify: walk the audit hash chain and name the first broken entry."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import audit


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exits non-zero and names the first broken entry if it is broken."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit.verify_chain()
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict()))
        if not report.ok:
            raise CommandError(
                f"audit chain BROKEN at entry #{report.first_broken_id}: {report.reason} "
                f"({report.checked} entries before it are intact)"
            )
        if not options["json"]:
            self.stdout.write(self.style.SUCCESS(f"audit chain OK: {report.checked} entries, head {report.head_hash}"))
