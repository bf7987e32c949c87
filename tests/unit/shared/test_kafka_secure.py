"""The secure test broker's TLS material and configuration (shared/infra/kafka_secure.py), without a JVM."""

from __future__ import annotations

import ssl
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from shared.infra.kafka import ApacheKafkaServer
from shared.infra.kafka_secure import SUPER_USER, SecureKafkaServer, write_tls_material


class TestTlsMaterial:
    def test_the_server_certificate_is_the_cas_for_loopback_and_python_trusts_it(self, tmp_path):
        ca_path, server_path = write_tls_material(tmp_path)
        ca = x509.load_pem_x509_certificate(ca_path.read_bytes())
        server = x509.load_pem_x509_certificate(server_path.read_bytes())
        server.verify_directly_issued_by(ca)
        names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert names.get_values_for_type(x509.DNSName) == ["localhost"]
        assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
        context = ssl.create_default_context(
            cafile=str(ca_path)
        )  # what a drx client builds from DRX_KAFKA_SSL_CAFILE
        assert context.get_ca_certs()[0]["subject"] == ((("commonName", "drx test CA"),),)

    def test_the_keystore_is_an_unencrypted_pkcs8_key_then_the_certificate_readable_only_by_us(
        self, tmp_path
    ):
        _, server_path = write_tls_material(tmp_path)
        pem = server_path.read_bytes()
        assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, as Kafka's PEM keystore wants
        serialization.load_pem_private_key(pem, password=None)
        assert b"-----BEGIN CERTIFICATE-----" in pem
        assert stat.S_IMODE(server_path.stat().st_mode) == 0o600
        assert not list(tmp_path.glob("ca*key*"))  # the CA's key is never written


class TestConfiguration:
    def test_the_broker_authenticates_on_tls_and_authorises_by_acl_only(self, tmp_path):
        server = SecureKafkaServer({"drx-ingest": "pw"}, tmp_path)
        properties = server._server_properties(tmp_path / "data")
        lines = properties.splitlines()
        assert (
            f"listeners=CLIENT://127.0.0.1:{server.port},INTERNAL://127.0.0.1:{server.internal_port},"
            in properties
        )
        assert (
            "listener.security.protocol.map=CLIENT:SASL_SSL,INTERNAL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
            in lines
        )
        assert "allow.everyone.if.no.acl.found=false" in lines
        assert "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer" in lines
        assert f"super.users=User:{SUPER_USER}" in lines
        assert "ssl.keystore.type=PEM" in lines
        keys = [line.split("=", 1)[0] for line in lines if "=" in line and not line.startswith("#")]
        assert len(keys) == len(set(keys)), "a key set twice"

    def test_every_user_and_the_super_user_are_scram_users_from_the_format(self, tmp_path):
        server = SecureKafkaServer({"drx-ingest": "pw-1"}, tmp_path)
        assert server._format_options() == [
            "--add-scram=SCRAM-SHA-512=[name=drx-ingest,password=pw-1]",
            f"--add-scram=SCRAM-SHA-512=[name={SUPER_USER},password={server.super_password}]",
        ]
        settings = server.client_settings("drx-ingest", topic_prefix="x.")
        assert settings.security_protocol == "SASL_SSL"
        assert settings.ssl_cafile == str(server.ca_file)
        assert settings.topic_prefix == "x."

    @pytest.mark.parametrize("users", [{"a,b": "pw"}, {"a": "p]w"}, {"a": ""}, {SUPER_USER: "pw"}])
    def test_a_user_that_would_not_survive_the_format_option_is_refused(self, tmp_path, users):
        with pytest.raises(ValueError, match=r"SCRAM user|super user"):
            SecureKafkaServer(users, tmp_path)

    def test_the_plain_broker_keeps_its_plaintext_listener_and_no_authoriser(self, tmp_path):
        properties = ApacheKafkaServer(tmp_path)._server_properties(tmp_path / "data")
        assert "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT" in properties
        assert "authorizer" not in properties
        assert ApacheKafkaServer(tmp_path)._format_options() == []
