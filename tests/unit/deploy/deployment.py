"""Reading the deployment files the tests in this folder check: Dockerfile, compose file, manifests.

What a file holds, as the tests want to see it: every YAML document, the kustomize base's
resources by kind, a worker's Deployment, the environment a container's process sees, the
Dockerfile's instructions.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from shared.config import (
    DatabaseSettings,
    HealthSettings,
    KafkaSettings,
    LoggingSettings,
    NotifySettings,
    WorkerSettings,
)

ROOT = Path(__file__).parents[3]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
K8S = ROOT / "deploy" / "k8s"
KEDA = K8S / "extras" / "keda-scaledobject.yaml"
KAFKA_START = ROOT / "deploy" / "kafka" / "start.sh"
CERTS = ROOT / "deploy" / "certs.py"

K8S_VERSION = "1.30"  # the oldest Kubernetes the manifests must work on; bundled by kubernetes-validate
WORKERS = ("ingest", "matching", "notify")
HEALTH_PORT = 8080
SHUTDOWN_TIMEOUT = "DRX_WORKER_SHUTDOWN_TIMEOUT_S"  # from SIGTERM to exit
# Passed by the manifests before the setting exists; unknown DRX_* variables are ignored.
# Remove a name from here once shared/config/ has it.
PENDING_SETTINGS: set[str] = set()
CERTS_ENTRYPOINT = ["python", "/opt/drx-deploy/certs.py"]
SASL_PRINCIPALS = {"ingest": "drx-ingest", "matching": "drx-matching", "notify": "drx-notify"}
OPERATOR = "drx-operator"
SETTINGS = {
    f"{cls.model_config['env_prefix']}{field.upper()}"
    for cls in (
        KafkaSettings,
        DatabaseSettings,
        LoggingSettings,
        NotifySettings,
        HealthSettings,
        WorkerSettings,
    )
    for field in cls.model_fields
}


def documents(path: Path) -> list[dict[str, Any]]:
    docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    assert all(isinstance(doc, dict) for doc in docs), f"{path}: every document must be a mapping"
    return docs


def kustomization() -> dict[str, Any]:
    (doc,) = documents(K8S / "kustomization.yaml")
    return doc


def base_resources() -> list[dict[str, Any]]:
    return [doc for name in kustomization()["resources"] for doc in documents(K8S / name)]


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in base_resources() if r["kind"] == kind}


def pod_spec(resource: dict[str, Any]) -> dict[str, Any]:
    return resource["spec"]["template"]["spec"]


def containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(resource)
    return [*spec.get("initContainers", []), *spec["containers"]]


def workloads() -> list[dict[str, Any]]:
    return [r for r in base_resources() if r["kind"] in {"Deployment", "Job"}]


def worker_deployment(worker: str) -> dict[str, Any]:
    return of_kind("Deployment")[f"drx-{worker}"]


def config_data() -> dict[str, str]:
    return of_kind("ConfigMap")["drx-config"]["data"]


def shutdown_timeout_s(env: dict[str, Any]) -> float:
    """The worker's DRX_WORKER_SHUTDOWN_TIMEOUT_S given these variables (the default without it)."""
    if SHUTDOWN_TIMEOUT not in env:
        return float(WorkerSettings.model_fields["shutdown_timeout_s"].default)
    return WorkerSettings(shutdown_timeout_s=env[SHUTDOWN_TIMEOUT]).shutdown_timeout_s


def container_env(container: dict[str, Any]) -> dict[str, Any]:
    """What the container's process sees: its ConfigMaps (envFrom), then its own env entries."""
    config_maps = of_kind("ConfigMap")
    env: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(config_maps[source["configMapRef"]["name"]]["data"])
    env.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
    return env


def envfrom_secrets() -> set[str]:
    """The Secrets some container takes whole as its environment (the others hold files or keys)."""
    return {
        source["secretRef"]["name"]
        for resource in workloads()
        for container in containers(resource)
        for source in container.get("envFrom", [])
        if "secretRef" in source
    }


def resolved_env(container: dict[str, Any]) -> dict[str, str]:
    """Everything the container's process sees, Secrets included: envFrom, then env (values and keys)."""
    maps = {name: r["data"] for name, r in of_kind("ConfigMap").items()}
    secrets = {name: r["stringData"] for name, r in of_kind("Secret").items()}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(maps[source["configMapRef"]["name"]])
        if "secretRef" in source:
            env.update(secrets[source["secretRef"]["name"]])
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = entry["value"]
        elif "secretKeyRef" in entry.get("valueFrom", {}):
            ref = entry["valueFrom"]["secretKeyRef"]
            env[entry["name"]] = secrets[ref["name"]][ref["key"]]
    return env


def compose() -> dict[str, Any]:
    (doc,) = documents(COMPOSE)
    return doc


def compose_services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def drx_compose_services() -> dict[str, dict[str, Any]]:
    """The services that run drx itself (the certs job runs only deploy/certs.py in the image)."""
    return {
        name: s
        for name, s in compose_services().items()
        if s.get("image", "").startswith("drx:") and s.get("entrypoint") != CERTS_ENTRYPOINT
    }


def broker_properties() -> dict[str, str]:
    """The server.properties deploy/kafka/start.sh writes for the Compose broker (shell variables kept)."""
    text = KAFKA_START.read_text()
    body = text.split('cat > "$CONF/server.properties" <<PROPERTIES\n', 1)[1].split("\nPROPERTIES\n", 1)[0]
    lines = [line for line in body.splitlines() if line.strip() and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def dockerfile_exec_form(instruction: str) -> list[str]:
    (args,) = [a for i, a in dockerfile_instructions() if i == instruction][-1:]
    value = yaml.safe_load(args)  # the exec form is a JSON array, which YAML reads too
    assert isinstance(value, list), f"{instruction} must use the exec form (a JSON array): {args}"
    return [str(v) for v in value]


def without_interpolation(value: object) -> str:
    """A compose value with ``${VAR…}`` replaced by a plausible value, as ``docker compose`` would."""
    return re.sub(r"\$\{[^}]*\}", "secret", str(value))


def yaml_files() -> list[Path]:
    return sorted([*ROOT.joinpath("deploy").rglob("*.yaml"), *ROOT.joinpath("deploy").rglob("*.yml")])


def resource_id(resource: dict[str, Any]) -> str:
    return f"{resource['kind']}/{resource['metadata']['name']}"


def keda_objects() -> list[dict[str, Any]]:
    return documents(KEDA)
