"""manage.py demo: run Talkgate on this machine (web + worker), make a demo partner and key, show it working."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts import services
from accounts.models import PARTNER_SCOPES, Partner, PartnerStatus, Role, UseCase, User

DEMO_PARTNER = "Demo Partner (demo)"
DEMO_REVIEWER = "demo-reviewer"


def _http(method: str, url: str, token: str | None = None, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - a URL we built, on localhost
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


class Command(BaseCommand):
    help = "Start the web server and a Celery worker on the embedded defaults and print how to call the API."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("TALKGATE_PORT", "8000")))
        parser.add_argument("--check", action="store_true", help="Show it working, then stop (no serving).")

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"]
        base = f"http://127.0.0.1:{port}"
        call_command("migrate", verbosity=0, interactive=False)
        token = self._demo_partner_key()
        reviewer_token = self._demo_reviewer_key()
        children = self._start(port)
        try:
            self._wait_ready(base, children)
            status, me = _http("GET", f"{base}/v1/partner", token)
            if status != 200:
                raise CommandError(f"the demo call failed: {status} {me}")
            self.stdout.write(self.style.SUCCESS("\nTalkgate is running on its embedded defaults."))
            self.stdout.write(f"  data dir:  {settings.DATA_DIR}  (SQLite, filesystem broker, local storage)")
            self.stdout.write(f"  API docs:  {base}/api/docs/")
            self.stdout.write(f"  partner:   {me['partner']['name']} ({me['partner']['status']})")
            self.stdout.write(f"  API key:   {token}   (demo only; shown once)")
            self.stdout.write(f"  reviewer key: {reviewer_token}   (demo only)")
            self.stdout.write("\nTry:")
            self.stdout.write(f"  curl -s -H 'Authorization: Bearer {token}' {base}/v1/partner")
            self.stdout.write(f"  curl -s -H 'Authorization: Bearer {token}' {base}/v1/keys")
            self.stdout.write(
                f"  curl -s -H 'Authorization: Bearer {reviewer_token}' '{base}/v1/review/audit?page_size=5'"
            )
            self.stdout.write(f"\nGET /v1/partner answered 200: {json.dumps(me['partner'])}")
            if options["check"]:
                return
            self.stdout.write("\nServing; press Ctrl-C to stop.")
            while all(child.poll() is None for child in children):
                time.sleep(1)
            raise CommandError("a child process exited; see its output above")
        except KeyboardInterrupt:
            self.stdout.write("\nstopping")
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()

    @transaction.atomic
    def _demo_partner_key(self) -> str:
        partner = Partner.objects.filter(name=DEMO_PARTNER).first()
        if partner is None:
            partner = services.partner_apply(
                name=DEMO_PARTNER,
                contact_name="Demo Contact",
                contact_email="demo@example.org",
                use_case=UseCase.EDUCATION,
                use_case_description="Local demonstration of Talkgate; not a real partner.",
            ).partner
        if partner.status == PartnerStatus.APPLIED:
            partner = services.partner_approve(
                partner=partner, reviewer=self._reviewer(), comment="demo partner, approved by the demo command"
            )
        _, token = services.api_key_create(
            partner=partner, name="demo", scopes=list(PARTNER_SCOPES), created_by="manage.py demo"
        )
        return token

    def _reviewer(self) -> User:
        user = User.objects.filter(username=DEMO_REVIEWER).first()
        return user or services.reviewer_create(
            username=DEMO_REVIEWER, email="reviewer@example.org", password=None, role=Role.REVIEWER
        )

    def _demo_reviewer_key(self) -> str:
        _, token = services.api_key_create(
            user=self._reviewer(), name="demo", scopes=["review"], created_by="manage.py demo"
        )
        return token

    def _start(self, port: int) -> list[subprocess.Popen[bytes]]:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        web = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=settings.BASE_DIR,
            env=env,
        )
        worker = subprocess.Popen(  # noqa: S603 - fixed argv
            [
                sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "cpu,gpu", "-B",
                "--concurrency", "1", "--loglevel", "WARNING",
                "--schedule", str(settings.DATA_DIR / "celerybeat-schedule"),
            ],
            cwd=settings.BASE_DIR,
            env=env,
        )  # fmt: skip
        return [web, worker]

    def _wait_ready(self, base: str, children: list[subprocess.Popen[bytes]]) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(child.poll() is not None for child in children):
                raise CommandError("the web server or the worker exited during start-up")
            try:
                status, _body = _http("GET", f"{base}/readyz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise CommandError("the service did not become ready within 60 s")
