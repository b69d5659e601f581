"""gateway.tls: the TLS options go together and bad files are named before the server starts."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from gateway.tls import TlsFiles, TlsSetupError
from tests.support.certs import CertificateAuthority


def test_no_tls_options_means_a_plaintext_listener() -> None:
    assert TlsFiles.from_options(None, None, None) is None


@pytest.mark.parametrize(
    ("cert", "key", "ca", "message"),
    [
        (Path("c.pem"), None, None, "--tls-key is missing"),
        (None, Path("k.pem"), None, "--tls-cert is missing"),
        (None, None, Path("ca.pem"), "--tls-client-ca needs"),
    ],
)
def test_incomplete_tls_options_are_refused_naming_the_missing_one(
    cert: Path | None, key: Path | None, ca: Path | None, message: str
) -> None:
    with pytest.raises(TlsSetupError, match=message):
        TlsFiles.from_options(cert, key, ca)


def test_server_credentials_come_from_generated_pem_files(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path)
    server = ca.issue_server("server")
    files = TlsFiles.from_options(server.cert, server.key, ca.cert)
    assert files is not None and files.mutual
    assert isinstance(files.server_credentials(), grpc.ServerCredentials)


def test_a_key_given_as_the_certificate_is_named_in_the_error(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path)
    server = ca.issue_server("server")
    with pytest.raises(TlsSetupError, match=r"--tls-cert: .* not a PEM file holding a certificate"):
        TlsFiles(server.key, server.key).server_credentials()
    with pytest.raises(TlsSetupError, match="--tls-key: cannot read"):
        TlsFiles(server.cert, tmp_path / "absent.pem").server_credentials()
