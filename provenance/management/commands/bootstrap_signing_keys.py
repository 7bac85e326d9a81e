"""manage.py bootstrap_signing_keys: make a development C2PA chain (root -> intermediate -> ES256 leaf)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from provenance.keys import CHAIN, KEY, ROOT, bootstrap_dev_chain


class Command(BaseCommand):
    help = "Write a development C2PA signing chain and key (not for production: its root is self-made)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--folder", type=Path, default=None, help="Default: TALKGATE_C2PA_DIR")
        parser.add_argument("--force", action="store_true", help="Replace an existing chain (rotation).")

    def handle(self, *args: Any, **options: Any) -> None:
        folder = options["folder"] or settings.TALKGATE_C2PA_DIR
        if options["force"] and (folder / ROOT).exists():
            # Keep the old root trusted so outputs signed before the rotation still verify.
            retired = folder / "trust"
            retired.mkdir(exist_ok=True)
            stamp = len(list(retired.glob("root-*.pem")))
            (retired / f"root-{stamp}.pem").write_bytes((folder / ROOT).read_bytes())
            self.stdout.write(
                f"kept the old root as {retired / f'root-{stamp}.pem'}; add it to TALKGATE_C2PA_TRUST_ANCHORS"
            )
        bootstrap_dev_chain(folder, overwrite=options["force"])
        self.stdout.write(self.style.SUCCESS(f"chain: {folder / CHAIN}\nkey:   {folder / KEY}\nroot:  {folder / ROOT}"))
