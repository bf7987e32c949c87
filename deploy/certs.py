# ruff: noqa: INP001, T201  - a script run in the image, not a module of drx; it reports on stdout
"""One-shot TLS material for the Compose broker: a CA, and a broker certificate it signs.

Run by the ``certs`` service (the drx image, which has ``cryptography``) before Kafka starts.
It writes the broker's PKCS#12 keystore and its password to ``TLS_DIR`` (mounted only into the
broker) and the CA certificate to ``CA_DIR`` (mounted read-only into the drx services, which
trust nothing else). The CA's private key is never written: it signs the broker certificate and
is dropped, so nobody can mint a second broker. Existing files are kept, so a restart does not
change the broker's identity; delete the two volumes to issue new ones.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID = dt.timedelta(days=825)  # the longest validity clients accept for a server certificate


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def issue(hostnames: list[str]) -> tuple[bytes, bytes, str]:
    """(CA certificate PEM, broker keystore PKCS#12, keystore password) for ``hostnames``."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("drx deployment CA"))
        .issuer_name(_name("drx deployment CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALID)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hostnames[0]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALID)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hostnames]), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    password = secrets.token_hex(16)
    keystore = pkcs12.serialize_key_and_certificates(
        b"kafka", key, cert, [ca], serialization.BestAvailableEncryption(password.encode())
    )
    return ca.public_bytes(serialization.Encoding.PEM), keystore, password


def _write(path: Path, data: bytes, mode: int) -> None:
    path.write_bytes(data)
    path.chmod(mode)


def main() -> int:
    tls_dir, ca_dir = Path(os.environ["TLS_DIR"]), Path(os.environ["CA_DIR"])
    hostnames = os.environ.get("TLS_HOSTNAMES", "kafka,localhost").split(",")
    if (tls_dir / "kafka.p12").exists() and (ca_dir / "ca.crt").exists():
        print("TLS material exists; keeping it")
        return 0
    ca, keystore, password = issue(hostnames)
    # The broker image runs as its own user: it must read these, nobody else mounts the volume.
    _write(tls_dir / "kafka.p12", keystore, 0o644)
    _write(tls_dir / "keystore-password", password.encode(), 0o644)
    _write(ca_dir / "ca.crt", ca, 0o644)
    print(f"issued a CA and a broker certificate for {', '.join(hostnames)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
