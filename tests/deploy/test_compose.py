"""deploy/compose.yaml and its GPU overlay, checked offline: the Compose Specification's JSON schema (as vendored by
check-jsonschema) on each file and on the merged pair, then what the schema cannot say: start order, health checks,
volumes, secrets through *_FILE, and that every variable the Talkgate services get is a real setting."""

from __future__ import annotations

import copy
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from django.conf import settings

DEPLOY = Path(settings.BASE_DIR) / "deploy"
TALKGATE_SERVICES = {"migrate", "web", "worker-cpu", "worker-gpu", "beat"}
LONG_RUNNING = {"postgres", "redis", "minio", "web", "worker-cpu", "worker-gpu", "beat"}
ONE_SHOT = {"migrate", "bucket"}
PATH_SETTINGS = {"TALKGATE_C2PA_CHAIN_FILE", "TALKGATE_C2PA_KEY_FILE"}


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / name).read_text())


def _merge(base: Any, overlay: Any) -> Any:
    """Compose's merge for what the overlay uses: mappings merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = copy.deepcopy(base)
        for key, value in overlay.items():
            merged[key] = _merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(overlay)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    vendored = resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json"
    return json.loads(vendored.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load("compose.yaml")


@pytest.fixture(scope="module")
def merged(compose: dict[str, Any]) -> dict[str, Any]:
    return _merge(compose, _load("compose.gpu.yaml"))


def _errors(schema: dict[str, Any], document: dict[str, Any]) -> list[str]:
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_each_file_and_the_merged_pair_match_the_compose_specification(schema, compose, merged) -> None:  # type: ignore[no-untyped-def]
    assert _errors(schema, compose) == []
    assert _errors(schema, _load("compose.gpu.yaml")) == []
    assert _errors(schema, merged) == []
    # The schema is strict enough to catch a misplaced key (it would have caught a typo in ours).
    broken = _merge(compose, {"services": {"web": {"helthcheck": {"test": ["CMD", "true"]}}}})
    assert _errors(schema, broken)


def test_every_part_is_there_and_starts_in_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= LONG_RUNNING | ONE_SHOT
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            wanted = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            assert rule["condition"] == wanted, (name, dependency)
            if wanted == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no health check to wait for"
    for name in LONG_RUNNING:
        assert services[name]["healthcheck"]["test"], name
        assert services[name]["restart"] == "unless-stopped", name
    for name in ONE_SHOT:
        assert services[name]["restart"] == "no", name
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in TALKGATE_SERVICES - {"migrate"}:
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "--replicas" not in json.dumps(services["beat"])  # beat must stay a single process
    assert services["web"]["healthcheck"]["test"][-1].count("/readyz") == 1


def test_volumes_and_secrets_are_declared_and_secrets_come_through_file_variables(compose: dict[str, Any]) -> None:
    services, volumes, secrets = compose["services"], set(compose["volumes"]), set(compose["secrets"])
    for name, service in services.items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            assert source in volumes, f"{name} mounts undeclared volume {source}"
        mounted = set(service.get("secrets", []))
        assert mounted <= secrets, (name, mounted - secrets)
        environment = service.get("environment", {})
        for key, value in environment.items():
            if key.endswith("_FILE") and str(value).startswith("/run/secrets/"):
                assert str(value).removeprefix("/run/secrets/") in mounted, f"{name}: {key} names an unmounted secret"
        # No secret in plain text: passwords, keys and tokens only as files.
        for key in environment:
            if re.search(r"SECRET|PASSWORD|TOKEN|_KEY$", key):
                assert key.endswith("_FILE"), f"{name}: {key} should be {key}_FILE"
        assert not re.search(r"://[^/@\s]+:[^/@\s]+@", json.dumps(environment)), f"{name}: a URL with a password"
    for secret in compose["secrets"].values():
        assert secret["file"].startswith("./secrets/")


def test_talkgate_services_get_only_real_settings(compose: dict[str, Any]) -> None:
    known = (Path(settings.BASE_DIR) / "config" / "settings.py").read_text() + (
        Path(settings.BASE_DIR) / "README.md"
    ).read_text()
    for name in TALKGATE_SERVICES:
        for key in compose["services"][name]["environment"]:
            # The C2PA chain and key settings are paths whose names end in _FILE themselves.
            setting = key if key in PATH_SETTINGS else key.removesuffix("_FILE")
            assert f'"{setting}"' in known or f"`{setting}`" in known, f"{name}: {key} is no Talkgate setting"
    web = compose["services"]["web"]["environment"]
    assert web["PROMETHEUS_MULTIPROC_DIR"] in compose["services"]["web"]["tmpfs"]
    for worker in ("worker-cpu", "worker-gpu"):
        environment = compose["services"][worker]["environment"]
        assert environment["TALKGATE_METRICS_PORT"] and environment["PROMETHEUS_MULTIPROC_DIR"]


def test_the_gpu_overlay_reserves_an_nvidia_gpu_for_the_gpu_worker_only(compose, merged) -> None:  # type: ignore[no-untyped-def]
    (device,) = merged["services"]["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["count"] == 1 and device["capabilities"] == ["gpu"]
    assert merged["services"]["worker-gpu"]["image"] != compose["services"]["worker-gpu"]["image"]
    # Everything else of the gpu worker is kept from the base file.
    assert merged["services"]["worker-gpu"]["command"] == compose["services"]["worker-gpu"]["command"]
    assert [name for name, service in merged["services"].items() if "deploy" in service] == ["worker-gpu"]
