"""A throw-away certificate authority for TLS and mutual-TLS tests, generated with ``cryptography``.

Every test run makes its own CA, a server certificate for ``localhost``/``127.0.0.1`` and client
certificates, so no key material is ever committed. Keys are EC P-256: quick to generate, accepted by gRPC.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CertificateAuthority", "Issued"]

_VALIDITY = datetime.timedelta(days=2)


@dataclass(frozen=True)
class Issued:
    """PEM files of one issued certificate and its key."""

    cert: Path
    key: Path


class CertificateAuthority:
    """A CA whose certificate is written to ``<folder>/<name>-ca.pem``; it issues server and client certs."""

    def __init__(self, folder: Path, name: str = "bridgeway-test") -> None:
        self.folder = folder
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} CA")])
        now = datetime.datetime.now(datetime.UTC)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(self._name)
            .issuer_name(self._name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(self._key, hashes.SHA256())
        )
        self.cert = folder / f"{name}-ca.pem"
        self.cert.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))

    def issue_server(self, stem: str, hosts: tuple[str, ...] = ("localhost", "127.0.0.1")) -> Issued:
        """A server certificate valid for ``hosts`` (DNS names or IP addresses)."""
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        return self._issue(stem, hosts[0], ExtendedKeyUsageOID.SERVER_AUTH, names)

    def issue_client(self, stem: str, common_name: str, organization: str = "Bridgeway Tests") -> Issued:
        """A client certificate whose subject is ``CN=<common_name>,O=<organization>``."""
        return self._issue(stem, common_name, ExtendedKeyUsageOID.CLIENT_AUTH, [], organization)

    def _issue(
        self,
        stem: str,
        common_name: str,
        usage: x509.ObjectIdentifier,
        names: list[x509.GeneralName],
        organization: str | None = None,
    ) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        if organization:
            attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes))
            .issuer_name(self._name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        issued = Issued(self.folder / f"{stem}.pem", self.folder / f"{stem}-key.pem")
        issued.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        issued.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        issued.key.chmod(0o600)
        return issued
