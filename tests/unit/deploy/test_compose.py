"""The compose file's structure holds together: the stack is all there, starts in order, and stops in time."""

from __future__ import annotations

import re

import pytest

from tests.unit.deploy.deployment import (
    SHUTDOWN_TIMEOUT,
    WORKERS,
    broker_properties,
    compose,
    compose_services,
    container_env,
    containers,
    drx_compose_services,
    shutdown_timeout_s,
    without_interpolation,
    worker_deployment,
)


class TestCompose:
    def test_the_stack_is_all_there(self):
        assert set(compose_services()) >= {"kafka", "postgres", "migrate", *WORKERS}

    def test_kafka_runs_in_kraft_mode_from_the_apache_image(self):
        kafka = compose_services()["kafka"]
        assert kafka["image"].startswith("apache/kafka:")
        properties = broker_properties()
        assert "controller" in properties["process.roles"]
        assert not [name for name in properties if "zookeeper" in name]

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

    def test_kafka_starts_after_its_certificates_are_written(self):
        assert compose_services()["kafka"]["depends_on"] == {
            "certs": {"condition": "service_completed_successfully"}
        }
        assert compose_services()["certs"]["restart"] == "no"

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
