"""The Kubernetes manifests parse, validate against the Kubernetes schemas, and hold together.

CI has no Docker engine and no cluster, so this checks what can be checked without them: every
YAML document parses, every Kubernetes manifest validates against the Kubernetes JSON schemas
(kubernetes-validate), the kustomize base is complete and consistent, and the KEDA example
agrees with it. The compose file is checked in test_compose.py, the settings and commands the
files give the image and the Dockerfile in test_image.py.
"""

from __future__ import annotations

import kubernetes_validate
import pytest
import yaml

from shared.kafka.topics import TOPICS, topic_name
from tests.unit.deploy.deployment import (
    HEALTH_PORT,
    K8S,
    K8S_VERSION,
    ROOT,
    WORKERS,
    base_resources,
    config_data,
    container_env,
    containers,
    documents,
    keda_objects,
    kustomization,
    of_kind,
    pod_spec,
    resource_id,
    shutdown_timeout_s,
    worker_deployment,
    workloads,
    yaml_files,
)


class TestYaml:
    @pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(ROOT)))
    def test_every_document_parses(self, path):
        assert documents(path), f"{path} has no YAML document"

    def test_the_files_we_ship_are_all_found(self):
        names = {str(p.relative_to(ROOT)) for p in yaml_files()}
        assert {"deploy/docker-compose.yml", "deploy/k8s/kustomization.yaml"} <= names
        assert "deploy/k8s/extras/keda-scaledobject.yaml" in names


class TestKubernetesSchemas:
    @pytest.mark.parametrize("resource", base_resources(), ids=resource_id)
    def test_validates_against_the_kubernetes_schema(self, resource):
        try:
            kubernetes_validate.validate(resource, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            pytest.fail(f"{resource_id(resource)}: {path}: {error.message}")

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
        ids = [resource_id(r) for r in base_resources()]
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
                                f"{resource_id(resource)}: {ref} {source[ref]['name']} is not in the base"
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

    @pytest.mark.parametrize("resource", workloads(), ids=resource_id)
    def test_every_container_has_requests_and_limits_and_runs_as_non_root(self, resource):
        assert pod_spec(resource)["securityContext"]["runAsNonRoot"] is True
        for container in containers(resource):
            assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
            assert "memory" in container["resources"]["limits"]
            assert container["securityContext"]["allowPrivilegeEscalation"] is False

    def test_the_migrate_job_upgrades_the_database_before_creating_topics(self):
        (job,) = of_kind("Job").values()
        assert [c["args"][:2] for c in containers(job)] == [
            ["db", "upgrade"],
            ["db", "grant-worker"],
            ["topics", "create"],
        ]


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


class TestNetworkPolicy:
    def test_the_health_port_is_open_only_to_the_namespace_and_monitoring(self):
        (policy,) = of_kind("NetworkPolicy").values()
        assert policy["spec"]["policyTypes"] == ["Ingress"]
        (rule,) = policy["spec"]["ingress"]
        assert rule["ports"] == [{"protocol": "TCP", "port": HEALTH_PORT}]
        assert rule["from"] == [
            {"podSelector": {}},
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
        ]

    @pytest.mark.parametrize("worker", WORKERS)
    def test_it_selects_every_worker_and_nothing_else(self, worker):
        (policy,) = of_kind("NetworkPolicy").values()
        expressions = policy["spec"]["podSelector"]["matchExpressions"]

        def selects(labels: dict[str, str]) -> bool:
            return all(labels.get(e["key"]) in e["values"] for e in expressions)

        assert selects(worker_deployment(worker)["spec"]["template"]["metadata"]["labels"])
        (job,) = of_kind("Job").values()
        assert not selects(job["spec"]["template"]["metadata"]["labels"])
