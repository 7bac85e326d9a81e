"""deploy/kubernetes: the kustomize base and the GPU overlay render offline (`kubectl kustomize`), every standard
object validates against the Kubernetes schemas that kubernetes-validate ships (strict: unknown fields fail), the
KEDA ScaledObject against a schema of its own, and the parts fit together (selectors, probes, secrets, queues)."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from django.conf import settings

KUBERNETES = Path(settings.BASE_DIR) / "deploy" / "kubernetes"
# The oldest Kubernetes release still maintained upstream when this was written, and the newest the package knows.
VERSIONS = ("1.32.0", kubernetes_validate.latest_version())
SECRET_DIR = "/var/run/secrets/talkgate/"
SECRET = "talkgate-secrets"

# The part of KEDA's ScaledObject CRD (keda.sh/v1alpha1) these manifests use; KEDA's schemas ship with its chart,
# not with any Python package, so this is our own, strict about what it names.
SCALED_OBJECT = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["scaleTargetRef", "triggers"],
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string"},
                        "kind": {"type": "string"},
                        "apiVersion": {"type": "string"},
                    },
                },
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "idleReplicaCount": {"type": "integer", "minimum": 0},
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "advanced": {"type": "object"},
                "fallback": {"type": "object"},
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["type", "metadata"],
                        "properties": {
                            "type": {"type": "string"},
                            "name": {"type": "string"},
                            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                            "authenticationRef": {"type": "object", "required": ["name"]},
                        },
                    },
                },
            },
        },
    },
}


@functools.cache
def render(target: str) -> tuple[dict[str, Any], ...]:
    """The manifests `kubectl kustomize` renders for a base or overlay folder (no cluster, no network)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("needs kubectl (Debian package kubectl) for `kubectl kustomize`")
    result = subprocess.run(
        [kubectl, "kustomize", str(KUBERNETES / target)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def _find(docs: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def _pod(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["template"]["spec"]


@pytest.mark.parametrize("target", ["base", "overlays/gpu"])
@pytest.mark.parametrize("version", VERSIONS)
def test_rendered_manifests_validate_against_the_kubernetes_schemas(target: str, version: str) -> None:
    docs = render(target)
    for doc in docs:
        if doc["apiVersion"].startswith("keda.sh/"):
            jsonschema.validate(doc, SCALED_OBJECT)
        else:
            kubernetes_validate.validate(doc, version, strict=True)
    # Strict validation does catch a misspelt field, in a standard object and in the ScaledObject.
    for doc in docs:
        if doc["kind"] == "ScaledObject":
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate({**doc, "spec": {**doc["spec"], "minReplicas": 0}}, SCALED_OBJECT)
    web = yaml.safe_load(yaml.safe_dump(_find(docs, "Deployment", "talkgate-web")))
    _pod(web)["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, version, strict=True)


def test_one_deployment_per_queue_beat_alone_migrations_first() -> None:
    docs = render("base")
    for queue in ("cpu", "gpu"):
        command = _pod(_find(docs, "Deployment", f"talkgate-worker-{queue}"))["containers"][0]["command"]
        assert command[:4] == ["celery", "-A", "config", "worker"] and command[command.index("-Q") + 1] == queue
    beat = _find(docs, "Deployment", "talkgate-beat")
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    migrate = _find(docs, "Job", "talkgate-migrate")
    assert _pod(migrate)["containers"][0]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    for doc in docs:
        if doc["kind"] == "Deployment" and doc["metadata"]["name"] != "talkgate-beat":
            (init,) = _pod(doc)["initContainers"]
            assert "migrate --check" in init["command"][-1], doc["metadata"]["name"]


def test_web_is_probed_served_and_protected_from_disruption() -> None:
    docs = render("base")
    web = _find(docs, "Deployment", "talkgate-web")
    container = _pod(web)["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    # Django answers a probe or a scrape by pod address only when that address is an allowed host.
    env = {item["name"]: item for item in container["env"]}
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    public = _find(docs, "ConfigMap", "talkgate-config")["data"]["DJANGO_ALLOWED_HOSTS"]
    assert env["DJANGO_ALLOWED_HOSTS"]["value"] == f"{public},$(POD_IP)"
    assert list(env).index("POD_IP") < list(env).index("DJANGO_ALLOWED_HOSTS")  # $(VAR) sees earlier entries only
    labels = web["spec"]["template"]["metadata"]["labels"]
    service = _find(docs, "Service", "talkgate-web")
    assert service["spec"]["selector"].items() <= labels.items()
    backend = _find(docs, "Ingress", "talkgate")["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "talkgate-web"
    pdbs = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
    pod_labels = [d["spec"]["template"]["metadata"]["labels"] for d in docs if d["kind"] == "Deployment"]
    assert any(p["spec"]["selector"]["matchLabels"].items() <= labels.items() for p in pdbs)
    for pdb in pdbs:  # each budget selects some pods
        assert any(pdb["spec"]["selector"]["matchLabels"].items() <= pl.items() for pl in pod_labels)


def test_secrets_are_mounted_files_and_settings_are_real() -> None:
    docs = render("base")
    config = _find(docs, "ConfigMap", "talkgate-config")["data"]
    known = (Path(settings.BASE_DIR) / "config" / "settings.py").read_text() + (
        Path(settings.BASE_DIR) / "README.md"
    ).read_text()
    for key, value in config.items():
        setting = key if key in ("TALKGATE_C2PA_CHAIN_FILE", "TALKGATE_C2PA_KEY_FILE") else key.removesuffix("_FILE")
        assert f'"{setting}"' in known or f"`{setting}`" in known, f"{key} is no Talkgate setting"
        assert not re.search(r"SECRET|PASSWORD|TOKEN|_KEY$", key) or key.endswith("_FILE"), key
        if key.endswith("_FILE") or value.startswith(SECRET_DIR):
            assert value.startswith(SECRET_DIR), key
    assert not re.search(r"://[^/@\s]+:[^/@\s]+@", str(config)), "a URL with a password in the ConfigMap"
    for doc in docs:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        pod = _pod(doc)
        secret_volumes = {v["name"] for v in pod["volumes"] if v.get("secret", {}).get("secretName") == SECRET}
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod.get("serviceAccountName") == "talkgate"
        for container in pod.get("initContainers", []) + pod["containers"]:
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts[SECRET_DIR.rstrip("/")] in secret_volumes, (doc["metadata"]["name"], container["name"])
            # Every container can write where the settings and the metrics write (read-only root filesystem).
            assert {"/var/lib/talkgate", config["PROMETHEUS_MULTIPROC_DIR"]} <= set(mounts), container["name"]
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]


def test_the_gpu_overlay_puts_the_gpu_workers_on_gpus_and_scales_them_to_zero_on_the_queue() -> None:
    base, gpu = render("base"), render("overlays/gpu")
    assert "nvidia.com/gpu" not in yaml.safe_dump(list(base))
    worker = _find(gpu, "Deployment", "talkgate-worker-gpu")
    pod = _pod(worker)
    resources = pod["containers"][0]["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == 1 == resources["requests"]["nvidia.com/gpu"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert all("talkgate-gpu" in c["image"] for c in pod["initContainers"] + pod["containers"])
    assert "replicas" not in worker["spec"]  # KEDA owns the count
    # Only the gpu worker changed.
    for name in ("talkgate-web", "talkgate-worker-cpu", "talkgate-beat"):
        assert _find(gpu, "Deployment", name) == _find(base, "Deployment", name)
    scaled = _find(gpu, "ScaledObject", "talkgate-worker-gpu")
    assert scaled["spec"]["scaleTargetRef"]["name"] == worker["metadata"]["name"]
    assert scaled["spec"]["minReplicaCount"] == 0 and scaled["spec"]["maxReplicaCount"] >= 1
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis" and trigger["metadata"]["listName"] == "gpu"
    # The list lives in the broker's database, not the cache's.
    broker = _find(gpu, "ConfigMap", "talkgate-config")["data"]["CELERY_BROKER_URL"]
    assert broker.rsplit("/", 1)[1] == trigger["metadata"]["databaseIndex"]
    assert broker.split("//")[1].split("/")[0] == trigger["metadata"]["address"]
    # A scale-in lets a render finish: the grace period covers the hard task time limit.
    assert pod["terminationGracePeriodSeconds"] >= settings.CELERY_TASK_TIME_LIMIT
