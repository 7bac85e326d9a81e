"""manage.py verify FILE [--json]: what Talkgate can tell about a suspect file (reviewer-level detail)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import DomainError
from verifier import services


class Command(BaseCommand):
    help = "Check a video or image for Talkgate's C2PA manifest and watermark, and show the job it leads to."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        try:
            with path.open("rb") as handle:
                result = services.verify_upload(fileobj=handle, reviewer=True, actor="cli:manage.py verify")
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2, default=str))
            return
        match = result["match"]
        self.stdout.write(f"media:     {result['media']['kind']}, {result['media']['size_bytes']} bytes")
        self.stdout.write(f"c2pa:      {result['c2pa']['state']}")
        mark = result["watermark"]
        self.stdout.write(f"watermark: {'not checked' if mark is None else mark}")
        self.stdout.write(f"match:     {'none' if match is None else json.dumps(match, default=str)[:500]}")
        for line in result["what_this_means"]:
            self.stdout.write(f"  - {line}")
