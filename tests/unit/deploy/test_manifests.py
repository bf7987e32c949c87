"""The deployment files parse, validate, and tell the image to run only what the CLI has.

CI has no Docker engine and no cluster, so this checks what can be checked without them: every
YAML document parses, every Kubernetes manifest validates against the Kubernetes JSON schemas
(kubernetes-validate), the kustomize base is complete and consistent, the compose file's
structure holds together, the settings passed are real ``DRX_*`` settings with valid values,
and every ``drx …`` command in Dockerfile, compose file and manifests parses and reaches the
point where it reads its settings.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner

import services.cli.common
import services.cli.main
from shared.config import (
    DatabaseSettings,
    HealthSettings,
    KafkaSettings,
    LoggingSettings,
    NotifySettings,
    SettingsError,
    WorkerSettings,
    load_settings,
)
from shared.kafka.topics import TOPICS, topic_name

ROOT = Path(__file__).parents[3]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
K8S = ROOT / "deploy" / "k8s"
KEDA = K8S / "extras" / "keda-scaledobject.yaml"

K8S_VERSION = "1.30"  # the oldest Kubernetes the manifests must work on; bundled by kubernetes-validate
WORKERS = ("ingest", "matching", "notify")
HEALTH_PORT = 8080
SHUTDOWN_TIMEOUT = "DRX_WORKER_SHUTDOWN_TIMEOUT_S"  # from SIGTERM to exit
# Passed by the manifests before the setting exists; unknown DRX_* variables are ignored.
# Remove a name from here once shared/config.py has it.
PENDING_SETTINGS: set[str] = set()
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


def compose() -> dict[str, Any]:
    (doc,) = documents(COMPOSE)
    return doc


def compose_services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def drx_compose_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose_services().items() if s.get("image", "").startswith("drx:")}


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


class TestYaml:
    @pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(ROOT)))
    def test_every_document_parses(self, path):
        assert documents(path), f"{path} has no YAML document"

    def test_the_files_we_ship_are_all_found(self):
        names = {str(p.relative_to(ROOT)) for p in yaml_files()}
        assert {"deploy/docker-compose.yml", "deploy/k8s/kustomization.yaml"} <= names
        assert "deploy/k8s/extras/keda-scaledobject.yaml" in names


def _resource_id(resource: dict[str, Any]) -> str:
    return f"{resource['kind']}/{resource['metadata']['name']}"


class TestKubernetesSchemas:
    @pytest.mark.parametrize("resource", base_resources(), ids=_resource_id)
    def test_validates_against_the_kubernetes_schema(self, resource):
        try:
            kubernetes_validate.validate(resource, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            pytest.fail(f"{_resource_id(resource)}: {path}: {error.message}")

    def test_the_validator_rejects_a_misspelt_field(self):
        """The check above can fail: a typo in a field name is an error, not ignored."""
        broken = yaml.safe_load(yaml.safe_dump(worker_deployment("ingest")))
        broken["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


class TestKustomization:
    def test_every_listed_resource_exists(self):
        missing = [name for name in kustomization()["resources"] if not (K8S / name).is_file()]
        assert not missing, f"listed in kustomization.yaml but absent: {missing}"

    def test_every_file_of_the_base_is_listed(self):
        """kustomize ignores files it is not told about; a forgotten one would silently not deploy."""
        on_disk = {p.name for p in K8S.glob("*.y*ml")} - {"kustomization.yaml"}
        assert on_disk == set(kustomization()["resources"])

    def test_extras_stay_out_of_the_base(self):
        """The KEDA CRD may be absent; the base must apply on any cluster."""
        assert not [name for name in kustomization()["resources"] if name.startswith("extras")]

    def test_resources_are_unique(self):
        ids = [_resource_id(r) for r in base_resources()]
        assert len(ids) == len(set(ids)), f"duplicates: {sorted(i for i in ids if ids.count(i) > 1)}"

    def test_the_namespace_is_created(self):
        assert set(of_kind("Namespace")) == {kustomization()["namespace"]}

    def test_every_image_is_set_by_the_kustomization(self):
        named = {image["name"] for image in kustomization()["images"]}
        used = {c["image"] for r in workloads() for c in containers(r)}
        assert used <= named, f"images not set in kustomization.yaml: {sorted(used - named)}"

    def test_every_referenced_config_map_and_secret_exists(self):
        refs = {"configMapRef": set(of_kind("ConfigMap")), "secretRef": set(of_kind("Secret"))}
        for resource in workloads():
            for container in containers(resource):
                for source in container.get("envFrom", []):
                    for ref, names in refs.items():
                        if ref in source:
                            assert source[ref]["name"] in names, (
                                f"{_resource_id(resource)}: {ref} {source[ref]['name']} is not in the base"
                            )

    @pytest.mark.parametrize("worker", WORKERS)
    def test_each_worker_has_a_deployment_and_a_disruption_budget(self, worker):
        deployment = worker_deployment(worker)
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels.items()
        budget = of_kind("PodDisruptionBudget")[f"drx-{worker}"]
        budget_selector = budget["spec"]["selector"]["matchLabels"]
        assert budget_selector.items() <= pod_labels.items()
        others = [w for w in WORKERS if w != worker]
        for other in others:  # the budget must not also count another worker's pods
            other_labels = worker_deployment(other)["spec"]["template"]["metadata"]["labels"]
            assert not budget_selector.items() <= other_labels.items()

    @pytest.mark.parametrize("worker", WORKERS)
    def test_workers_run_their_service(self, worker):
        (container,) = containers(worker_deployment(worker))
        assert container["args"] == ["run", worker]

    @pytest.mark.parametrize("worker", WORKERS)
    def test_replicas_do_not_exceed_the_partitions(self, worker):
        assert worker_deployment(worker)["spec"]["replicas"] <= int(config_data()["DRX_KAFKA_PARTITIONS"])

    @pytest.mark.parametrize("worker", WORKERS)
    def test_static_group_membership_comes_from_the_pod_name(self, worker):
        (container,) = containers(worker_deployment(worker))
        env = {e["name"]: e for e in container.get("env", [])}
        assert env["DRX_KAFKA_GROUP_INSTANCE_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"

    @pytest.mark.parametrize("worker", WORKERS)
    def test_probes_and_metrics_are_on_the_health_port(self, worker):
        deployment = worker_deployment(worker)
        (container,) = containers(deployment)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for probe, path in (("livenessProbe", "/livez"), ("readinessProbe", "/readyz")):
            get = container[probe]["httpGet"]
            assert get["path"] == path
            assert ports.get(get["port"], get["port"]) == HEALTH_PORT
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == str(HEALTH_PORT)
        assert annotations["prometheus.io/path"] == "/metrics"

    @pytest.mark.parametrize("worker", WORKERS)
    def test_shutdown_has_time_to_finish_in_flight_work(self, worker):
        deployment = worker_deployment(worker)
        (container,) = containers(deployment)
        grace = pod_spec(deployment)["terminationGracePeriodSeconds"]
        assert grace > shutdown_timeout_s(container_env(container))

    @pytest.mark.parametrize("resource", workloads(), ids=_resource_id)
    def test_every_container_has_requests_and_limits_and_runs_as_non_root(self, resource):
        assert pod_spec(resource)["securityContext"]["runAsNonRoot"] is True
        for container in containers(resource):
            assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
            assert "memory" in container["resources"]["limits"]
            assert container["securityContext"]["allowPrivilegeEscalation"] is False

    def test_the_migrate_job_upgrades_the_database_before_creating_topics(self):
        (job,) = of_kind("Job").values()
        assert [c["args"] for c in containers(job)] == [["db", "upgrade"], ["topics", "create"]]


def keda_objects() -> list[dict[str, Any]]:
    return documents(KEDA)


class TestKedaExample:
    """No schema for KEDA's CRDs is bundled, so the example is checked against the base instead."""

    def test_one_scaled_object_per_worker(self):
        assert all(o["apiVersion"] == "keda.sh/v1alpha1" for o in keda_objects())
        assert all(o["kind"] == "ScaledObject" for o in keda_objects())
        targets = sorted(o["spec"]["scaleTargetRef"]["name"] for o in keda_objects())
        assert targets == sorted(f"drx-{w}" for w in WORKERS)
        assert set(targets) <= set(of_kind("Deployment"))

    @pytest.mark.parametrize("obj", keda_objects(), ids=lambda o: o["metadata"]["name"])
    def test_scales_on_the_lag_of_the_workers_consumer_group(self, obj):
        worker = obj["spec"]["scaleTargetRef"]["name"].removeprefix("drx-")
        config = config_data()
        (trigger,) = obj["spec"]["triggers"]
        assert trigger["type"] == "kafka"
        meta = trigger["metadata"]
        # shared/worker.py Worker.group_id: f"{topic_prefix}drx-{name}"
        assert meta["consumerGroup"] == f"{config['DRX_KAFKA_TOPIC_PREFIX']}drx-{worker}"
        assert meta["bootstrapServers"] == config["DRX_KAFKA_BOOTSTRAP_SERVERS"]
        assert meta["lagThreshold"].isdigit()
        if "topic" in meta:
            known = {topic_name(config["DRX_KAFKA_TOPIC_PREFIX"], spec) for spec in TOPICS}
            assert meta["topic"] in known
        assert 1 <= obj["spec"]["minReplicaCount"] <= obj["spec"]["maxReplicaCount"]
        assert obj["spec"]["maxReplicaCount"] <= int(config["DRX_KAFKA_PARTITIONS"])


class TestCompose:
    def test_the_stack_is_all_there(self):
        assert set(compose_services()) >= {"kafka", "postgres", "migrate", *WORKERS}

    def test_kafka_runs_in_kraft_mode_from_the_apache_image(self):
        kafka = compose_services()["kafka"]
        assert kafka["image"].startswith("apache/kafka:")
        assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
        assert "ZOOKEEPER" not in " ".join(kafka["environment"]).upper()

    def test_postgres_is_16(self):
        assert compose_services()["postgres"]["image"].split(":")[1].startswith("16")

    def test_depends_on_targets_exist_with_a_condition_they_can_meet(self):
        services = compose_services()
        for name, service in services.items():
            for target, dependency in service.get("depends_on", {}).items():
                assert target in services, f"{name} depends on unknown service {target}"
                condition = dependency["condition"]
                assert condition in {
                    "service_started",
                    "service_healthy",
                    "service_completed_successfully",
                }
                if condition == "service_healthy":
                    assert "healthcheck" in services[target], f"{name} waits on {target}, which has none"

    def test_migrate_runs_once_after_kafka_and_postgres_are_healthy(self):
        migrate = compose_services()["migrate"]
        assert migrate["restart"] == "no"
        assert migrate["depends_on"] == {
            "kafka": {"condition": "service_healthy"},
            "postgres": {"condition": "service_healthy"},
        }

    @pytest.mark.parametrize("worker", WORKERS)
    def test_workers_start_after_migrate_succeeded(self, worker):
        service = compose_services()[worker]
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert service["command"] == ["run", worker]

    @pytest.mark.parametrize("name", ["kafka", "postgres", *WORKERS])
    def test_long_running_services_have_healthchecks_and_restart(self, name):
        service = compose_services()[name]
        assert service["healthcheck"]["test"][0] in {"CMD", "CMD-SHELL"}
        assert service["restart"] in {"always", "unless-stopped", "on-failure"}

    @pytest.mark.parametrize("worker", WORKERS)
    def test_shutdown_has_time_to_finish_in_flight_work(self, worker):
        grace = compose_services()[worker]["stop_grace_period"]
        assert re.fullmatch(r"\d+s", grace)
        assert int(grace[:-1]) > shutdown_timeout_s(compose_services()[worker]["environment"])

    def test_the_shutdown_check_reads_the_configured_timeout(self):
        """The checks above can fail: a timeout set longer than the grace period is seen."""
        assert shutdown_timeout_s({SHUTDOWN_TIMEOUT: "50"}) == 50.0
        assert shutdown_timeout_s({}) == 30.0
        assert shutdown_timeout_s(compose_services()["ingest"]["environment"]) == 30.0
        deployment = worker_deployment("ingest")
        (container,) = containers(deployment)
        assert shutdown_timeout_s(container_env(container)) == 30.0

    def test_named_volumes_are_declared_and_used(self):
        declared = set(compose().get("volumes") or {})
        used = {
            volume.split(":")[0]
            for service in compose_services().values()
            for volume in service.get("volumes", [])
            if not volume.startswith((".", "/"))
        }
        assert used == declared
        assert {"kafka", "postgres"} <= {
            name for name, s in compose_services().items() if s.get("volumes")
        }, "the broker and the database keep their data in volumes"

    def test_drx_services_reach_kafka_and_postgres_by_service_name(self):
        services = compose_services()
        for name, service in drx_compose_services().items():
            env = {k: without_interpolation(v) for k, v in service["environment"].items() if v is not None}
            for server in env["DRX_KAFKA_BOOTSTRAP_SERVERS"].split(","):
                assert server.rsplit(":", 1)[0] in services, f"{name}: {server}"
            host = re.search(r"@([^:/]+)", env["DRX_DATABASE_URL"])
            assert host is not None
            assert host.group(1) in services, f"{name}: {env['DRX_DATABASE_URL']}"


def environment_sources() -> list[tuple[str, dict[str, str | None]]]:
    """Every set of DRX_* variables the deployment files pass, by where it is."""
    sources: list[tuple[str, dict[str, str | None]]] = []
    for name, service in drx_compose_services().items():
        sources.append((f"compose {name}", dict(service["environment"])))
    for resource in base_resources():
        if resource["kind"] == "ConfigMap":
            sources.append((_resource_id(resource), dict(resource["data"])))
        elif resource["kind"] == "Secret":
            sources.append((_resource_id(resource), dict(resource["stringData"])))
    for resource in workloads():
        for container in containers(resource):
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            sources.append((f"{_resource_id(resource)} {container['name']}", env))
    return sources


class TestSettings:
    @pytest.mark.parametrize("source", environment_sources(), ids=lambda s: s[0])
    def test_every_variable_is_a_drx_setting(self, source):
        where, env = source
        unknown = sorted(set(env) - SETTINGS - PENDING_SETTINGS)
        assert not unknown, f"{where} sets variables drx does not read: {unknown}"

    @pytest.mark.parametrize(
        "where",
        ["compose", "kubernetes"],
    )
    def test_the_values_are_accepted_by_the_settings(self, where, monkeypatch):
        for name in [n for n in os.environ if n.startswith("DRX_")]:
            monkeypatch.delenv(name)
        if where == "compose":
            env = {k: v for k, v in drx_compose_services()["notify"]["environment"].items() if v is not None}
        else:
            env = {}
            for resource in base_resources():
                if resource["kind"] in {"ConfigMap", "Secret"}:
                    env.update(resource.get("data") or resource.get("stringData") or {})
        for name, value in env.items():
            monkeypatch.setenv(name, without_interpolation(value))
        try:
            load_settings()
        except SettingsError as error:
            pytest.fail(f"{where}: {error}")


def drx_invocations() -> list[tuple[str, list[str]]]:
    """Every command line the deployment files give the image, without the ``drx`` entrypoint."""
    found: list[tuple[str, list[str]]] = [("Dockerfile CMD", dockerfile_exec_form("CMD"))]
    for name, service in drx_compose_services().items():
        entrypoint, command = service.get("entrypoint"), service.get("command", [])
        if entrypoint is None:
            found.append((f"compose {name}", [str(c) for c in command]))
            continue
        assert entrypoint == ["/bin/sh", "-c"], f"compose {name}: unexpected entrypoint {entrypoint}"
        (script,) = command
        for step in re.split(r"&&|;|\|\|", script):
            words = shlex.split(step)
            assert words[0] == "drx", f"compose {name}: {step.strip()!r} is not a drx command"
            found.append((f"compose {name}", words[1:]))
    for resource in workloads():
        for container in containers(resource):
            assert "command" not in container, "the image's entrypoint is drx; give arguments only"
            found.append((f"{_resource_id(resource)} {container['name']}", container["args"]))
    return found


class _ReachedSettings(Exception):  # noqa: N818 - a marker, not an error
    """Raised instead of reading settings: the command parsed and got as far as needing them."""


def reaches_settings(args: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[bool, str]:
    def stop() -> None:
        raise _ReachedSettings

    monkeypatch.setattr(services.cli.common, "settings", stop)
    result = CliRunner().invoke(services.cli.main.app, args)
    return isinstance(result.exception, _ReachedSettings), result.output


class TestCommands:
    def test_the_image_runs_the_drx_console_script(self):
        assert dockerfile_exec_form("ENTRYPOINT") == ["drx"]
        scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
        assert "drx" in scripts

    def test_every_drx_command_is_found(self):
        commands = {tuple(args) for _, args in drx_invocations()}
        assert {("run", w) for w in WORKERS} | {("db", "upgrade"), ("topics", "create")} <= commands

    @pytest.mark.parametrize(
        "invocation",
        [i for i in drx_invocations() if i[1] != ["--help"]],
        ids=lambda i: f"{i[0]}: drx {' '.join(i[1])}",
    )
    def test_is_a_real_command_of_the_cli(self, invocation, monkeypatch):
        where, args = invocation
        reached, output = reaches_settings(args, monkeypatch)
        assert reached, f"{where}: `drx {' '.join(args)}` is not a command drx runs:\n{output}"

    def test_the_default_command_prints_help(self):
        result = CliRunner().invoke(services.cli.main.app, dockerfile_exec_form("CMD"))
        assert result.exit_code == 0
        assert "run" in result.output

    @pytest.mark.parametrize("args", [["run", "ingester"], ["db", "migrate"], ["topic", "create"]])
    def test_a_wrong_command_is_caught(self, args, monkeypatch):
        """The check above can fail: a misspelt command or service does not reach the settings."""
        reached, _ = reaches_settings(args, monkeypatch)
        assert not reached


class TestDockerfile:
    def test_one_image_from_python_311_slim_running_as_non_root(self):
        instructions = dockerfile_instructions()
        bases = [args.split()[0] for i, args in instructions if i == "FROM"]
        assert bases[-1] == "python:3.11-slim"
        (user,) = [args for i, args in instructions if i == "USER"]
        uid = int(user.split(":")[0])
        assert uid != 0
        for resource in workloads():
            assert pod_spec(resource)["securityContext"]["runAsUser"] == uid

    def test_pip_installs_the_project(self):
        runs = [args for i, args in dockerfile_instructions() if i == "RUN"]
        assert any(re.search(r"pip install \.(\s|$)", run) for run in runs)

    def test_what_the_build_copies_is_not_ignored(self):
        patterns = [
            line.strip()
            for line in DOCKERIGNORE.read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
        copied = [
            source
            for i, args in dockerfile_instructions()
            if i == "COPY" and "--from" not in args
            for source in args.split()[:-1]
        ]
        assert copied
        for source in copied:
            assert (ROOT / source).exists(), f"COPY {source}: no such file"
            ignored = [p for p in patterns if fnmatch.fnmatch(source, p.removeprefix("**/"))]
            assert not ignored, f"COPY {source} is excluded by .dockerignore: {ignored}"
