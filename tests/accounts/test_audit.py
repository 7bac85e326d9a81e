"""The audit log: every request and domain event recorded, hash-chained, append-only, searchable."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEntry, AuditKind
from tests.conftest import PartnerActor, ReviewerActor, bearer_client

pytestmark = pytest.mark.django_db


def _entry_for(response) -> AuditEntry:  # type: ignore[no-untyped-def]
    return AuditEntry.objects.get(kind=AuditKind.REQUEST, request_id=response["X-Request-ID"])


def test_a_successful_request_is_recorded_with_actor_partner_and_latency(alice: PartnerActor) -> None:
    response = alice.client.get("/v1/partner", REMOTE_ADDR="203.0.113.9")
    entry = _entry_for(response)
    assert (entry.method, entry.path, entry.status_code) == ("GET", "/v1/partner", 200)
    assert entry.actor == f"key:{alice.key.id}"
    assert entry.partner_id == alice.partner.id
    assert entry.client_ip == "203.0.113.9"
    assert entry.latency_us is not None and entry.latency_us > 0


def test_a_failed_authentication_is_recorded_without_the_secret(alice: PartnerActor) -> None:
    secret = "s" * 43
    response = bearer_client(f"{alice.key.prefix}.{secret}").get("/v1/keys")
    assert response.status_code == 401
    entry = _entry_for(response)
    assert entry.status_code == 401 and entry.actor == "anonymous" and entry.partner_id is None
    assert entry.payload["auth_failure"] == "api_key_invalid"
    assert entry.payload["key_prefix"] == alice.key.prefix
    assert secret not in json.dumps(entry.payload)
    assert response.json()["error"]["request_id"] == response["X-Request-ID"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("get", "/nope", 404), ("delete", "/v1/partner", 405), ("get", "/healthz", 200)],
)
def test_every_request_is_recorded_whatever_its_outcome(
    alice: PartnerActor, method: str, path: str, status: int
) -> None:
    response = getattr(alice.client, method)(path)
    assert response.status_code == status
    assert _entry_for(response).status_code == status


def test_a_request_refused_by_the_size_limit_is_recorded(alice: PartnerActor, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_MAX_JSON_BYTES = 2048
    response = alice.client.post("/v1/keys", {"name": "x" * 5000, "scopes": ["read"]}, format="json")
    assert response.status_code == 413
    assert _entry_for(response).status_code == 413


def test_the_service_issues_its_own_request_id_and_keeps_the_clients_apart(db: None, anon) -> None:  # type: ignore[no-untyped-def]
    first = anon.get("/healthz", HTTP_X_REQUEST_ID="trace-1234abcd")
    second = anon.get("/healthz", HTTP_X_REQUEST_ID="trace-1234abcd")
    # Two callers (or one replaying) sending the same id still get distinct service ids.
    assert len({first["X-Request-ID"], second["X-Request-ID"], "trace-1234abcd"}) == 3
    entry = _entry_for(first)
    assert entry.client_request_id == "trace-1234abcd"
    assert _entry_for(second).client_request_id == "trace-1234abcd"
    hostile = anon.get("/healthz", HTTP_X_REQUEST_ID="bad id\r\nSet-Cookie: x=1")
    assert len(hostile["X-Request-ID"]) == 32
    assert _entry_for(hostile).client_request_id == ""


def test_domain_events_carry_the_request_id_actor_and_target(alice: PartnerActor) -> None:
    response = alice.client.post("/v1/keys", {"name": "ci", "scopes": ["read"]}, format="json")
    event = AuditEntry.objects.get(event_type="api_key.created", target_id=response.json()["id"])
    assert event.request_id == response["X-Request-ID"]
    assert event.actor == f"key:{alice.key.id}"
    assert event.partner_id == alice.partner.id
    assert event.target_type == "accounts.apikey"
    assert event.payload["scopes"] == ["read"]


def test_payload_keys_that_look_like_secrets_are_redacted(db: None) -> None:
    entry = audit.record("test.event", payload={"token": "abc", "nested": {"password": "p", "ok": 1}})
    assert entry.payload == {"token": "[redacted]", "nested": {"password": "[redacted]", "ok": 1}}


def test_oversized_payloads_are_truncated_with_a_marker_never_refused(db: None) -> None:
    entry = audit.record("test.event", payload={"reason": "\U0001f600" * 5000, "ok": 1})
    assert len(json.dumps(entry.payload).encode()) <= audit.MAX_PAYLOAD_BYTES
    assert entry.payload["reason"].endswith(audit.TRUNCATED_MARKER)
    assert entry.payload["ok"] == 1 and entry.payload["_truncated"]["original_bytes"] > audit.MAX_PAYLOAD_BYTES
    many = audit.record("test.event", payload={f"k{i}": i for i in range(2000)})
    assert set(many.payload) == {"_truncated"}
    assert audit.verify_chain().ok


def test_the_chain_links_every_entry_to_the_previous_one(alice: PartnerActor) -> None:
    for _ in range(3):
        alice.client.get("/v1/partner")
    entries = list(AuditEntry.objects.order_by("id"))
    assert entries[0].prev_hash == audit.GENESIS_HASH
    for previous, current in itertools.pairwise(entries):
        assert current.prev_hash == previous.entry_hash
        assert current.created_at >= previous.created_at
    report = audit.verify_chain(batch_size=2)
    assert report.ok and report.checked == len(entries) and report.head_hash == entries[-1].entry_hash


def test_the_beat_task_and_the_reviewer_endpoint_verify_and_record_alike(reviewer: ReviewerActor) -> None:
    from accounts.tasks import audit_verify_chain

    audit.record("test.event", payload={"n": 1})
    assert audit_verify_chain()["ok"] is True
    assert reviewer.client.post("/v1/review/audit/verify").json()["ok"] is True
    recorded = list(AuditEntry.objects.filter(event_type="audit.chain_verified").order_by("id"))
    assert len(recorded) == 2
    assert recorded[0].actor == "system" and recorded[1].actor.startswith("key:")
    assert all(e.payload["ok"] is True and e.payload["checked"] >= 1 for e in recorded)


def _manage(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env["TALKGATE_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_audit_verify_names_the_entry_edited_by_raw_sql_on_sqlite(tmp_path: Path) -> None:
    """Runs on its own SQLite database in a subprocess, whatever database the suite uses."""
    assert _manage(tmp_path, "migrate", "-v0").returncode == 0
    made = _manage(
        tmp_path,
        "shell",
        "-c",
        "from accounts import audit\nfor i in range(5): audit.record('test.event', payload={'n': i})",
    )
    assert made.returncode == 0, made.stderr
    ok = _manage(tmp_path, "audit_verify")
    assert ok.returncode == 0 and "audit chain OK: 5 entries" in ok.stdout

    db = sqlite3.connect(tmp_path / "talkgate.sqlite3")
    with db:
        db.execute("UPDATE accounts_auditentry SET payload = '{\"n\": 99}' WHERE id = 3")
    edited = _manage(tmp_path, "audit_verify")
    assert edited.returncode != 0
    assert "entry #3" in edited.stderr and "altered" in edited.stderr

    with db:
        db.execute("UPDATE accounts_auditentry SET payload = '{\"n\": 2}' WHERE id = 3")
        db.execute("DELETE FROM accounts_auditentry WHERE id = 2")
    deleted = _manage(tmp_path, "audit_verify", "--json")
    assert deleted.returncode != 0
    assert json.loads(deleted.stdout)["first_broken_id"] == 3
    db.close()


@pytest.mark.postgres
def test_postgres_trigger_refuses_update_and_delete(alice: PartnerActor) -> None:
    entry = audit.record("test.event", payload={"n": 1})
    for sql in (
        "UPDATE accounts_auditentry SET actor = 'mallory' WHERE id = %s",
        "DELETE FROM accounts_auditentry WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.id])
    entry.refresh_from_db()
    assert entry.actor != "mallory"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(id=entry.id).delete()
    assert AuditEntry.objects.filter(id=entry.id).exists()


@pytest.mark.postgres
def test_postgres_tampering_by_a_superuser_who_disables_the_trigger_is_still_detected(db: None) -> None:
    entries = [audit.record("test.event", payload={"n": i}) for i in range(4)]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE accounts_auditentry DISABLE TRIGGER talkgate_audit_append_only")
        cursor.execute("UPDATE accounts_auditentry SET actor = 'mallory' WHERE id = %s", [entries[2].id])
        cursor.execute("ALTER TABLE accounts_auditentry ENABLE TRIGGER talkgate_audit_append_only")
    report = audit.verify_chain()
    assert not report.ok and report.first_broken_id == entries[2].id


def test_reviewer_searches_by_partner_status_path_and_time(
    alice: PartnerActor, bob: PartnerActor, reviewer: ReviewerActor
) -> None:
    alice.client.get("/v1/partner")
    alice.client.get("/v1/keys/00000000-0000-0000-0000-000000000000")
    bob.client.get("/v1/partner")
    search = reviewer.client.get

    by_partner = search(f"/v1/review/audit?partner={alice.partner.id}&kind=request").json()["results"]
    assert {r["path"] for r in by_partner} == {"/v1/partner", "/v1/keys/00000000-0000-0000-0000-000000000000"}
    not_found = search("/v1/review/audit?status=404").json()["results"]
    assert [r["partner_id"] for r in not_found] == [str(alice.partner.id)]
    assert search("/v1/review/audit?status_class=4xx").json()["results"] == not_found
    by_path = search("/v1/review/audit?path=/v1/partner&kind=request").json()["results"]
    assert {r["partner_id"] for r in by_path} == {str(alice.partner.id), str(bob.partner.id)}
    by_actor = search(f"/v1/review/audit?actor=key:{bob.key.id}").json()["results"]
    assert by_actor and all(r["partner_id"] == str(bob.partner.id) for r in by_actor)
    events = search("/v1/review/audit?event_type=api_key.").json()["results"]
    assert {r["event_type"] for r in events} == {"api_key.created"}
    future = (timezone.now() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert search("/v1/review/audit", {"since": future}).json()["results"] == []


def test_audit_search_pages_with_a_cursor_without_gaps_or_repeats(reviewer: ReviewerActor) -> None:
    for i in range(7):
        audit.record("test.page", payload={"i": i})
    seen: list[int] = []
    url: str | None = "/v1/review/audit?event_type=test.page&page_size=3"
    while url:
        page = reviewer.client.get(url).json()
        seen.extend(r["payload"]["i"] for r in page["results"])
        url = page["next"]
    assert seen == [6, 5, 4, 3, 2, 1, 0]


@pytest.mark.parametrize(
    ("query", "field"),
    [("since=yesterday", "since"), ("status=99", "status"), ("partner=not-a-uuid", "partner"), ("bogus=1", "bogus")],
)
def test_bad_audit_filters_are_400_with_the_field_named(reviewer: ReviewerActor, query: str, field: str) -> None:
    response = reviewer.client.get(f"/v1/review/audit?{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_a_forged_cursor_is_400(reviewer: ReviewerActor) -> None:
    response = reviewer.client.get("/v1/review/audit?cursor=garbage")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_cursor"


def test_export_as_json_lines_and_csv(reviewer: ReviewerActor) -> None:
    audit.record("test.export", payload={"note": '=HYPERLINK("x")'})
    audit.record("test.export", payload={"note": "plain"})
    jsonl = reviewer.client.get("/v1/review/audit/export?event_type=test.export")
    assert jsonl.status_code == 200 and jsonl["Content-Type"] == "application/x-ndjson"
    rows = [json.loads(line) for line in b"".join(jsonl.streaming_content).decode().splitlines()]
    assert [r["payload"]["note"] for r in rows] == ["plain", '=HYPERLINK("x")']

    as_csv = reviewer.client.get("/v1/review/audit/export?event_type=test.export&format=csv")
    assert as_csv["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(b"".join(as_csv.streaming_content).decode())))
    assert len(table) == 2 and table[0]["event_type"] == "test.export"
    assert json.loads(table[0]["payload"]) == {"note": "plain"}
    assert AuditEntry.objects.filter(event_type="audit.exported").count() == 2


def test_verify_endpoint_reports_the_chain(reviewer: ReviewerActor) -> None:
    audit.record("test.event")
    response = reviewer.client.post("/v1/review/audit/verify")
    assert response.status_code == 200
    assert response.json()["ok"] is True and response.json()["checked"] >= 1
