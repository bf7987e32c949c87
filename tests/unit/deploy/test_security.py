"""The deployment files are the secure deployment (issue 15, items 1 and 5), not an option beside it.

Kafka: the Compose broker has no plaintext client listener, authorizes every request and lets
nobody in without an ACL; each drx process is its own SCRAM principal. PostgreSQL: only the
migrate step has the tables' owner; the workers log in as the role grant-worker adds to
drx_worker. Passwords come from deploy/.env or a Secret, never from the files themselves.
"""

from __future__ import annotations

import importlib.util
import re
from types import ModuleType

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from tests.unit.deploy.deployment import (
    CERTS,
    KAFKA_START,
    OPERATOR,
    SASL_PRINCIPALS,
    WORKERS,
    broker_properties,
    compose_services,
    containers,
    of_kind,
    resolved_env,
    worker_deployment,
)

INTERPOLATED = re.compile(r"\$\{[A-Z0-9_]+:\?[^}]*\}")


def listeners() -> dict[str, tuple[str, str]]:
    """Listener name -> (bind address, security protocol) of the Compose broker."""
    properties = broker_properties()
    protocols = dict(pair.split(":") for pair in properties["listener.security.protocol.map"].split(","))
    bound = {}
    for listener in properties["listeners"].split(","):
        name, address = listener.split("://")
        bound[name] = (address.rsplit(":", 1)[0], protocols[name])
    return bound


def db_user(url: str) -> str:
    """The login in a database URL (regex, not urlsplit: Compose's ${VAR:?message} has / and ?)."""
    found = re.match(r"postgresql\+psycopg://([^:@/]+)[:@]", url)
    return found.group(1) if found else ""


class TestComposeKafka:
    def test_no_listener_outside_the_container_is_without_tls_and_sasl(self):
        for name, (host, protocol) in listeners().items():
            if host not in {"127.0.0.1", "localhost"}:
                assert protocol == "SASL_SSL", f"listener {name} on {host or 'every address'} is {protocol}"

    def test_the_controller_listener_is_internal(self):
        controller = broker_properties()["controller.listener.names"]
        assert listeners()[controller][0] == "127.0.0.1"
        assert controller not in broker_properties()["advertised.listeners"]

    def test_clients_use_scram_sha_512_over_tls(self):
        properties = broker_properties()
        (advertised,) = properties["advertised.listeners"].split(",")
        name = advertised.split("://")[0]
        assert listeners()[name][1] == "SASL_SSL"
        assert properties[f"listener.name.{name.lower()}.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
        assert properties["ssl.keystore.location"].startswith("${TLS}/")

    def test_every_request_is_authorized_and_no_acl_means_no_access(self):
        properties = broker_properties()
        assert (
            properties["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
        )
        assert properties["allow.everyone.if.no.acl.found"] == "false"
        assert properties["super.users"] == "User:drx-broker"

    def test_every_principal_gets_its_scram_credential_at_first_format(self):
        script = KAFKA_START.read_text()
        for principal in [*SASL_PRINCIPALS.values(), OPERATOR, "drx-int-example", "drx-broker"]:
            assert re.search(rf'--add-scram "\$\(scram {principal} "\$[A-Z_]+"\)"', script), principal

    def test_the_broker_password_is_never_inline(self):
        for name, value in broker_properties().items():
            if "password" in name or "jaas" in name:
                assert not re.search(r'password="[^$]', value), name

    def test_the_broker_passwords_come_from_deploy_env(self):
        env = compose_services()["kafka"]["environment"]
        passwords = {k: v for k, v in env.items() if "PASSWORD" in k}
        assert len(passwords) == 6
        assert all(INTERPOLATED.fullmatch(v) for v in passwords.values()), passwords


class TestComposeServices:
    @pytest.mark.parametrize("worker", WORKERS)
    def test_each_worker_is_its_own_kafka_principal(self, worker):
        env = compose_services()[worker]["environment"]
        assert env["DRX_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert env["DRX_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert env["DRX_KAFKA_SASL_USERNAME"] == SASL_PRINCIPALS[worker]
        assert env["DRX_KAFKA_SSL_CAFILE"]
        assert INTERPOLATED.fullmatch(env["DRX_KAFKA_SASL_PASSWORD"])
        own = f"DRX_KAFKA_{worker.upper()}_PASSWORD"
        assert env["DRX_KAFKA_SASL_PASSWORD"].startswith(f"${{{own}:?")

    @pytest.mark.parametrize("worker", WORKERS)
    def test_no_worker_connects_as_the_database_owner(self, worker):
        owner = compose_services()["postgres"]["environment"]["POSTGRES_USER"]
        url = compose_services()[worker]["environment"]["DRX_DATABASE_URL"]
        assert db_user(url) not in {owner, "postgres", ""}
        assert "POSTGRES_PASSWORD" not in url

    def test_migrate_runs_as_owner_and_operator_and_grants_the_workers_role(self):
        migrate = compose_services()["migrate"]
        env = migrate["environment"]
        assert (
            db_user(env["DRX_DATABASE_URL"]) == compose_services()["postgres"]["environment"]["POSTGRES_USER"]
        )
        assert env["DRX_KAFKA_SASL_USERNAME"] == OPERATOR
        (script,) = migrate["command"]
        steps = [step.strip() for step in script.split("&&")]
        worker_user = db_user(compose_services()["ingest"]["environment"]["DRX_DATABASE_URL"])
        assert steps == [
            "drx db upgrade",
            f"drx db grant-worker --member {worker_user}",
            "drx topics create --integration example=organisation",
        ]

    def test_the_workers_login_role_is_created_on_a_fresh_volume(self):
        postgres = compose_services()["postgres"]
        assert any("/docker-entrypoint-initdb.d/" in v for v in postgres["volumes"])
        assert INTERPOLATED.fullmatch(postgres["environment"]["DRX_APP_DB_PASSWORD"])

    @pytest.mark.parametrize("name", ["migrate", *WORKERS])
    def test_every_password_comes_from_deploy_env(self, name):
        for key, value in compose_services()[name]["environment"].items():
            if value is None:
                continue
            if "PASSWORD" in key:
                assert INTERPOLATED.fullmatch(value), f"{name}: {key} is inline"
            if key == "DRX_DATABASE_URL":
                password = re.match(r"postgresql\+psycopg://[^:@/]+:(.*)@[^@]+$", value)
                assert password, f"{name}: {key} has no password"
                assert INTERPOLATED.fullmatch(password.group(1)), f"{name}: the database password is inline"


class TestKubernetes:
    @pytest.mark.parametrize("worker", WORKERS)
    def test_each_worker_is_its_own_kafka_principal_with_its_own_password(self, worker):
        (container,) = containers(worker_deployment(worker))
        env = resolved_env(container)
        assert env["DRX_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert env["DRX_KAFKA_SASL_USERNAME"] == SASL_PRINCIPALS[worker]
        (password,) = [e for e in container["env"] if e["name"] == "DRX_KAFKA_SASL_PASSWORD"]
        assert password["valueFrom"]["secretKeyRef"]["key"] == SASL_PRINCIPALS[worker]

    @pytest.mark.parametrize("worker", WORKERS)
    def test_no_worker_gets_the_owners_database_url(self, worker):
        (container,) = containers(worker_deployment(worker))
        secrets = {s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s}
        assert "drx-database-owner" not in secrets
        owner = db_user(of_kind("Secret")["drx-database-owner"]["stringData"]["DRX_DATABASE_URL"])
        assert db_user(resolved_env(container)["DRX_DATABASE_URL"]) not in {owner, ""}

    def test_the_migrate_job_grants_the_workers_role_and_creates_topics_as_operator(self):
        (job,) = of_kind("Job").values()
        by_name = {c["name"]: c for c in containers(job)}
        worker_url = resolved_env(containers(worker_deployment("ingest"))[0])["DRX_DATABASE_URL"]
        assert by_name["db-grant-worker"]["args"] == ["db", "grant-worker", "--member", db_user(worker_url)]
        owner = of_kind("Secret")["drx-database-owner"]["stringData"]["DRX_DATABASE_URL"]
        for step in ("db-upgrade", "db-grant-worker"):
            assert resolved_env(by_name[step])["DRX_DATABASE_URL"] == owner
        topics = by_name["topics-create"]
        assert topics["args"][:2] == ["topics", "create"]
        assert resolved_env(topics)["DRX_KAFKA_SASL_USERNAME"] == OPERATOR
        assert "DRX_DATABASE_URL" not in resolved_env(topics), "creating topics needs no database"

    def test_no_password_or_database_url_is_inline_in_a_workload(self):
        for resource in [*of_kind("Deployment").values(), *of_kind("Job").values()]:
            for container in containers(resource):
                for entry in container.get("env", []):
                    if "PASSWORD" in entry["name"] or entry["name"] == "DRX_DATABASE_URL":
                        assert "value" not in entry, f"{container['name']}: {entry['name']} is inline"

    def test_the_config_map_holds_no_secret(self):
        for config in of_kind("ConfigMap").values():
            assert not [k for k in config["data"] if "PASSWORD" in k or k == "DRX_DATABASE_URL"]


def certs_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("drx_deploy_certs", CERTS)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestCerts:
    def test_the_broker_certificate_is_signed_by_the_ca_for_its_hostname(self):
        ca_pem, keystore, password = certs_script().issue(["kafka", "localhost"])
        ca = x509.load_pem_x509_certificate(ca_pem)
        key, cert, chain = pkcs12.load_key_and_certificates(keystore, password.encode())
        assert key is not None
        assert cert is not None
        cert.verify_directly_issued_by(ca)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert names.get_values_for_type(x509.DNSName) == ["kafka", "localhost"]
        assert [c.subject for c in chain] == [ca.subject]

    def test_the_keystore_needs_its_password(self):
        _, keystore, _ = certs_script().issue(["kafka"])
        with pytest.raises(ValueError):
            pkcs12.load_key_and_certificates(keystore, b"wrong")
