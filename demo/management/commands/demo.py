"""manage.py demo: run Talkgate on this machine (web + worker), make a demo partner and key, show it working."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from accounts import services
from accounts.models import PARTNER_SCOPES, Partner, PartnerStatus, Role, UseCase, User
from core.http import http_call

DEMO_PARTNER = "Demo Partner (demo)"
DEMO_REVIEWER = "demo-reviewer"
# Real material bundled with the repository (licences in tests/fixtures/engine/LICENSES.md).
DEMO_PHOTO = "tests/fixtures/engine/grace_hopper.jpg"
DEMO_SPEECH = "tests/fixtures/engine/espeak_peter.wav"


class Command(BaseCommand):
    help = "Start the web server and a Celery worker on the embedded defaults and print how to call the API."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("TALKGATE_PORT", "8000")))
        parser.add_argument("--check", action="store_true", help="Show it working, then stop (no serving).")
        parser.add_argument("--no-generation", action="store_true", help="Skip the end-to-end generation.")

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"]
        base = f"http://127.0.0.1:{port}"
        call_command("migrate", verbosity=0, interactive=False)
        token = self._demo_partner_key()
        reviewer_token = self._demo_reviewer_key()
        children = self._start(port)
        try:
            self._wait_ready(base, children)
            status, me = http_call("GET", f"{base}/v1/partner", token)
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
            if not options["no_generation"]:
                self._generate(base, token)
            password = self._console_password()
            self.stdout.write(f"\nReviewer console: {base}/console/  (login {DEMO_REVIEWER} / {password}, demo only)")
            self.stdout.write(f"Verify any file:  {base}/verify")
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

    def _generate(self, base: str, token: str) -> None:
        """Subject, consent, generation, download and verification, all through the public API."""
        from moderation import services as moderation
        from moderation.models import Consent

        root = Path(settings.BASE_DIR)
        photo, speech = (root / DEMO_PHOTO).read_bytes(), (root / DEMO_SPEECH).read_bytes()
        self.stdout.write("\nEnd to end, through the public API:")
        status, subject = http_call("POST", f"{base}/v1/subjects", token,
                                multipart=({"display_name": "Grace Hopper (DEMO subject)", "kind": "person"},
                                           {"photos": ("grace_hopper.jpg", photo)}))  # fmt: skip
        self._expect(status, 201, "POST /v1/subjects", subject)
        now = timezone.now()
        status, consent = http_call("POST", f"{base}/v1/subjects/{subject['id']}/consents", token, body={
            "use_case": "education", "valid_from": now.isoformat(),
            "valid_until": (now + timedelta(days=30)).isoformat(), "max_generations": 10,
        })  # fmt: skip
        self._expect(status, 201, "POST /v1/subjects/{id}/consents", consent)
        # DEMO ONLY: nobody can record the statement here, so the capture goes to review and the demo reviewer
        # approves it through the same review service a real reviewer uses (both steps are audited as demo).
        record = Consent.objects.get(id=consent["id"])
        moderation.consent_send_to_review(consent=record, note="DEMO: no recording made", actor="manage.py demo")
        moderation.consent_review(consent=record, reviewer=self._reviewer(), decision="approve",
                                  comment="DEMO ONLY: approved without a recording by the demo reviewer")  # fmt: skip
        self.stdout.write(f"  subject {subject['id']}, consent {consent['id']} (DEMO: approved by the demo reviewer)")
        inputs = {"photo": ("grace_hopper.jpg", photo), "audio": ("speech.wav", speech)}
        fields = {"consent_id": consent["id"], "size": "512", "seed": "7"}
        status, job = http_call("POST", f"{base}/v1/generations", token, multipart=(fields, inputs))
        self._expect(status, 202, "POST /v1/generations", job)
        deadline = time.monotonic() + 600
        last = ""
        while time.monotonic() < deadline:
            status, job = http_call("GET", f"{base}/v1/generations/{job['id']}", token)
            line = f"  job {job['id']}: {job['status']} {job['progress']}%"
            if line != last:
                self.stdout.write(line)
                last = line
            if job["status"] in ("succeeded", "failed", "rejected", "cancelled", "revoked"):
                break
            time.sleep(1)
        if job["status"] != "succeeded":
            raise CommandError(f"the demo job ended {job['status']}: {job['reason_codes']} {job['error']}")
        status, video = http_call("GET", f"{base}/v1/generations/{job['id']}/video", token, raw=True)
        self._expect(status, 200, "GET /v1/generations/{id}/video", None)
        out = Path(settings.DATA_DIR) / "demo" / "talkgate-demo.mp4"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(video)
        status, check = http_call("POST", f"{base}/v1/verify", multipart=({}, {"file": ("demo.mp4", video)}))
        for _ in range(60):  # the worker took longer than the POST waits: poll the result URL it gave
            if status != 202:
                break
            time.sleep(1)
            status, check = http_call("GET", check["result_url"])
        self._expect(status, 200, "POST /v1/verify", check)
        mark = check["watermark"] or {}
        self.stdout.write(f"  video: {out}  ({len(video) // 1024} KiB)")
        self.stdout.write(f"  verify: C2PA {check['c2pa']['state']}, watermark "
                          f"{'found' if mark.get('detected') else 'not found'}, "
                          f"leads to a Talkgate job: {bool(check['match'])}")  # fmt: skip

    @staticmethod
    def _expect(status: int, wanted: int, what: str, body: Any) -> None:
        if status != wanted:
            raise CommandError(f"{what} answered {status}: {body}")

    def _console_password(self) -> str:
        """A fresh password for the demo reviewer each run (printed once, demo only)."""
        password = secrets.token_urlsafe(12)
        reviewer = self._reviewer()
        reviewer.set_password(password)
        reviewer.save(update_fields=["password"])
        return password

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
                status, _body = http_call("GET", f"{base}/readyz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise CommandError("the service did not become ready within 60 s")
