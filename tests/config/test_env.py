"""Settings come from the environment and bad values fail loudly at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config import env


def test_helpers_parse_good_values(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("T_INT", "42")
    monkeypatch.setenv("T_BOOL", "yes")
    monkeypatch.setenv("T_LIST", "a, b,,c")
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n")
    monkeypatch.setenv("T_SECRET_FILE", str(secret_file))
    assert env.env_int("T_INT", 1) == 42
    assert env.env_bool("T_BOOL", False) is True
    assert env.env_list("T_LIST", []) == ["a", "b", "c"]
    assert env.env_str("T_SECRET") == "from-a-file"
    assert env.env_int("T_UNSET", 7) == 7


@pytest.mark.parametrize(
    ("name", "value", "call"),
    [
        ("T_INT", "12abc", lambda: env.env_int("T_INT", 1)),
        ("T_INT", "-5", lambda: env.env_int("T_INT", 1, minimum=0)),
        ("T_BOOL", "maybe", lambda: env.env_bool("T_BOOL", False)),
        ("T_CHOICE", "prod", lambda: env.env_str("T_CHOICE", "a", choices=["a", "b"])),
        ("T_URL", "mysql://x/y", lambda: env.env_url("T_URL", None, schemes=["postgres"])),
        ("T_MISSING_FILE", "", lambda: env.env_str("T_MISSING")),
    ],
)
def test_helpers_refuse_bad_values(monkeypatch: pytest.MonkeyPatch, name: str, value: str, call) -> None:  # type: ignore[no-untyped-def]
    if name == "T_MISSING_FILE":
        monkeypatch.setenv("T_MISSING_FILE", "/nonexistent/secret")
    else:
        monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured):
        call()


def _start(extra_env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env_vars = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env_vars.update({"TALKGATE_DATA_DIR": str(tmp_path), **extra_env})
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=env_vars,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL has scheme 'mysql'"),
        ({"REDIS_URL": "http://localhost:6379"}, "REDIS_URL has scheme 'http'"),
        ({"TALKGATE_MAX_REQUEST_BYTES": "lots"}, "TALKGATE_MAX_REQUEST_BYTES='lots' is not an integer"),
        ({"DJANGO_DEBUG": "perhaps"}, "DJANGO_DEBUG='perhaps' is not a boolean"),
        ({"TALKGATE_ENV": "production"}, "DJANGO_SECRET_KEY"),
        ({"CELERY_TASK_SOFT_TIME_LIMIT": "100", "CELERY_TASK_TIME_LIMIT": "50"}, "CELERY_TASK_TIME_LIMIT"),
    ],
)
def test_bad_settings_stop_the_process_at_start_up(tmp_path: Path, variables: dict[str, str], message: str) -> None:
    result = _start(variables, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_with_nothing_set_it_runs_on_the_embedded_defaults(tmp_path: Path) -> None:
    result = _start({}, tmp_path)
    assert result.returncode == 0, result.stderr
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup();"
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.CACHES['default']['BACKEND'],"
        " s.STORAGES['default']['BACKEND'])"
    )
    env_vars = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env_vars["TALKGATE_DATA_DIR"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env_vars, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [
        "django.db.backends.sqlite3",
        "filesystem://",
        "django.core.cache.backends.filebased.FileBasedCache",
        "django.core.files.storage.FileSystemStorage",
    ]


def test_database_and_redis_urls_switch_the_backends(tmp_path: Path) -> None:
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup();"
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], s.CELERY_BROKER_URL,"
        " s.CACHES['default']['BACKEND'])"
    )
    env_vars = dict(os.environ)
    env_vars.update(
        {
            "TALKGATE_DATA_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://u@db.example:5432/tg",
            "REDIS_URL": "redis://cache.example:6379/2",
        }
    )
    env_vars.pop("CELERY_BROKER_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env_vars, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [
        "django.db.backends.postgresql",
        "tg",
        "redis://cache.example:6379/2",
        "django.core.cache.backends.redis.RedisCache",
    ]


def test_production_secrets_come_from_files_as_compose_and_kubernetes_mount_them(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "django_secret_key").write_text("k" * 50 + "\n")
    (secrets / "database_url").write_text(f"sqlite:///{tmp_path / 'from-a-file.sqlite3'}\n")
    (secrets / "metrics_token").write_text("metrics-token-from-a-file\n")
    (secrets / "s3_secret_key").write_text("s3-secret\n")
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup();"
        "from django.conf import settings as s;"
        "print(len(s.SECRET_KEY), s.DATABASES['default']['NAME'], s.TALKGATE_METRICS_TOKEN,"
        " s.STORAGES['default']['OPTIONS']['secret_key'])"
    )
    env_vars = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env_vars.update(
        {
            "TALKGATE_DATA_DIR": str(tmp_path),
            "TALKGATE_ENV": "production",
            "DJANGO_SECRET_KEY_FILE": str(secrets / "django_secret_key"),
            "DATABASE_URL_FILE": str(secrets / "database_url"),
            "TALKGATE_METRICS_TOKEN_FILE": str(secrets / "metrics_token"),
            "TALKGATE_STORAGE": "s3",
            "AWS_STORAGE_BUCKET_NAME": "talkgate",
            "AWS_SECRET_ACCESS_KEY_FILE": str(secrets / "s3_secret_key"),
        }
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env_vars, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["50", str(tmp_path / "from-a-file.sqlite3"), "metrics-token-from-a-file", "s3-secret"]
    # A short metrics token is refused at start-up like any bad value.
    (secrets / "metrics_token").write_text("short")
    result = _start({k: v for k, v in env_vars.items() if k != "TALKGATE_DATA_DIR"}, tmp_path)
    assert result.returncode != 0 and "TALKGATE_METRICS_TOKEN" in result.stderr
