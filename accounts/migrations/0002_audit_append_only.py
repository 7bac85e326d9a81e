"""On PostgreSQL, a trigger refuses UPDATE and DELETE on the audit log, whoever asks."""

from django.db import migrations

_CREATE = """
CREATE OR REPLACE FUNCTION talkgate_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'accounts_auditentry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS talkgate_audit_append_only ON accounts_auditentry;
CREATE TRIGGER talkgate_audit_append_only
    BEFORE UPDATE OR DELETE ON accounts_auditentry
    FOR EACH ROW EXECUTE FUNCTION talkgate_audit_append_only();
"""

_DROP = """
DROP TRIGGER IF EXISTS talkgate_audit_append_only ON accounts_auditentry;
DROP FUNCTION IF EXISTS talkgate_audit_append_only();
"""


def _run(sql: str):
    def apply(apps, schema_editor):
        # SQLite is the single-machine default; there the chain hash (audit_verify) is the guard.
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return apply


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(_run(_CREATE), _run(_DROP), elidable=False)]
