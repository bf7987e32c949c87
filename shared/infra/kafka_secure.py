"""A real Apache Kafka broker that authenticates and authorises: TLS, SCRAM-SHA-512 and ACLs.

For the tests that prove drx's Kafka identities (``tests/integration/kafka_security/``): the
same jars and launcher as :class:`~shared.infra.kafka.ApacheKafkaServer`, with

- a ``SASL_SSL`` client listener on 127.0.0.1 (SCRAM-SHA-512 only), its certificate signed by a
  throwaway CA made here with ``cryptography`` and kept as PEM (no keytool, no JKS);
- Kafka's ``StandardAuthorizer`` with ``allow.everyone.if.no.acl.found=false``: only ACLs (or
  being the super user) let a principal do anything;
- SCRAM users written into the metadata log when the storage is formatted
  (``kafka-storage format --add-scram``), the way a deployment creates them at first start;
- one super user (``admin``) for the broker's own traffic: the controller and inter-broker
  listeners are SASL_PLAINTEXT with PLAIN on loopback, and ``admin`` is also a SCRAM user on
  the client listener so the readiness probe and a test's bootstrap admin can reach it.

    with SecureKafkaServer(users={"drx-ingest": "secret"}) as kafka:
        settings = kafka.client_settings("drx-ingest")
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import secrets
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from shared.config import KafkaSettings
from shared.infra._process import free_port
from shared.infra.kafka import ApacheKafkaServer
from shared.infra.probe import kafka_round_trip

__all__ = ["SUPER_USER", "SecureKafkaServer", "write_tls_material"]

SUPER_USER = "admin"
_SAFE = re.compile(r"[A-Za-z0-9._-]{1,200}")  # what fits in --add-scram's [name=…,password=…] as is


def write_tls_material(
    directory: Path, *, valid_for: dt.timedelta = dt.timedelta(days=2)
) -> tuple[Path, Path]:
    """A new CA and a server certificate for 127.0.0.1 and localhost; return (ca.pem, server.pem).

    ``server.pem`` holds the server's unencrypted PKCS#8 key followed by its certificate: the
    single file Kafka's ``ssl.keystore.type=PEM`` reads. The CA's key is never written.
    """
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # a little slack for clock steps
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "drx test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + valid_for)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),  # noqa: FBT003
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + valid_for)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, server_path = directory / "ca.pem", directory / "server.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    server_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        + server.public_bytes(serialization.Encoding.PEM)
    )
    server_path.chmod(0o600)
    return ca_path, server_path


_SECURE_PROPERTIES = """\
listeners=CLIENT://127.0.0.1:{port},INTERNAL://127.0.0.1:{internal_port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=CLIENT://127.0.0.1:{port},INTERNAL://127.0.0.1:{internal_port},CONTROLLER://127.0.0.1:{controller_port}
inter.broker.listener.name=INTERNAL
listener.security.protocol.map=CLIENT:SASL_SSL,INTERNAL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config={scram_jaas}
ssl.keystore.type=PEM
ssl.keystore.location={keystore}
ssl.client.auth=none
sasl.mechanism.inter.broker.protocol=PLAIN
listener.name.internal.sasl.enabled.mechanisms=PLAIN
listener.name.internal.plain.sasl.jaas.config={plain_jaas}
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config={plain_jaas}
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:{super_user}
"""


class SecureKafkaServer(ApacheKafkaServer):
    """:class:`ApacheKafkaServer` with TLS, SCRAM-SHA-512 users and ACLs enforced (see the module).

    ``users``: SCRAM user name to password (letters, digits, ``.``, ``_``, ``-``); each becomes a
    principal ``User:<name>``. The super user ``admin`` gets a random password
    (:attr:`super_password`).
    """

    def __init__(self, users: Mapping[str, str], workdir: Path | None = None, *, heap_mb: int = 512) -> None:
        super().__init__(workdir, heap_mb=heap_mb)
        for name, password in users.items():
            if not (_SAFE.fullmatch(name) and _SAFE.fullmatch(password)):
                msg = f"SCRAM user {name!r}: names and passwords are letters, digits, '.', '_' or '-'"
                raise ValueError(msg)
        if SUPER_USER in users:
            msg = f"{SUPER_USER!r} is the broker's super user; name the test users otherwise"
            raise ValueError(msg)
        self.super_password = secrets.token_urlsafe(18)
        self.users = {**users, SUPER_USER: self.super_password}
        self.internal_port = free_port()
        while self.internal_port in {self.port, self.controller_port}:
            self.internal_port = free_port()
        self.ca_file, self._keystore = write_tls_material(self.workdir)

    def _server_properties(self, data_dir: Path) -> str:
        plain = (
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="{SUPER_USER}" password="{self.super_password}" '
            f'user_{SUPER_USER}="{self.super_password}";'
        )
        base = super()._server_properties(data_dir)
        kept = "\n".join(  # the plain broker's settings, but for its listeners
            line
            for line in base.splitlines()
            if not line.startswith(
                ("listeners=", "advertised.listeners=", "inter.broker.", "listener.security.")
            )
        )
        secure = _SECURE_PROPERTIES.format(
            port=self.port,
            internal_port=self.internal_port,
            controller_port=self.controller_port,
            keystore=self._keystore,
            plain_jaas=plain,
            scram_jaas="org.apache.kafka.common.security.scram.ScramLoginModule required;",
            super_user=SUPER_USER,
        )
        return f"{kept}\n{secure}"

    def _format_options(self) -> list[str]:
        return [
            f"--add-scram=SCRAM-SHA-512=[name={name},password={password}]"
            for name, password in self.users.items()
        ]

    def _probe(self, timeout: float) -> Coroutine[Any, Any, None]:
        options = self.client_settings(SUPER_USER).client_options()
        options.pop("bootstrap_servers")
        return kafka_round_trip(self.bootstrap_servers, timeout=timeout, options=options)

    def client_settings(self, user: str, password: str | None = None, **overrides: Any) -> KafkaSettings:
        """Settings for a client that signs in as ``user`` over SASL_SSL, trusting the test CA.

        ``password`` defaults to the user's own; ``overrides`` are other ``KafkaSettings`` fields
        (``topic_prefix``, say).
        """
        return KafkaSettings(
            bootstrap_servers=self.bootstrap_servers,
            security_protocol="SASL_SSL",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_username=user,
            sasl_password=SecretStr(password if password is not None else self.users[user]),
            ssl_cafile=str(self.ca_file),
            **overrides,
        )
