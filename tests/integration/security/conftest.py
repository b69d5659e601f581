"""Security integration tests: real ``bridgeway serve`` processes with TLS, mTLS, tokens and an audit log.

Certificates come from a CA generated for the session (``tests.support.certs``); nothing secret is committed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.auth import token_sha256
from tests.support.certs import CertificateAuthority, Issued
from tests.support.gateway_process import GatewayProcess, gateway_process
from tests.support.onnx_zoo import build_repository

ERP_TOKEN = "erp-nightly-3f1c9a7e-token"
OPS_TOKEN = "ops-admin-8d2b44c1-token"
CANARY_SSN = "123-45-6789"
CANARY_EMAIL = "canary@example.invalid"


@dataclass(frozen=True)
class Pki:
    ca: CertificateAuthority
    server: Issued
    client: Issued  # CN=erp-batch
    stranger: Issued  # issued by another CA
    stranger_ca: CertificateAuthority


def write_tokens(path: Path, clients: list[tuple[str, str, list[str], bool]]) -> Path:
    """Write a tokens file, (name, token, models, admin) per client; atomically, as a deploy would."""
    lines = ["clients:"]
    for name, token, models, admin in clients:
        lines += [f"  - name: {name}", f"    token_sha256: {token_sha256(token)}", f"    models: {models}"]
        lines.append(f"    admin: {'true' if admin else 'false'}")
    staging = path.with_suffix(".tmp")
    staging.write_text("\n".join(lines) + "\n", encoding="utf-8")
    staging.replace(path)
    return path


DEFAULT_CLIENTS = [
    ("erp-nightly", ERP_TOKEN, ["identity_bytes", "add_sub"], False),
    ("ops", OPS_TOKEN, ["*"], True),
]


@pytest.fixture(scope="session")
def zoo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_repository(tmp_path_factory.mktemp("zoo"))


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca = CertificateAuthority(folder, "bridgeway")
    stranger_ca = CertificateAuthority(folder, "stranger")
    return Pki(
        ca,
        ca.issue_server("server"),
        ca.issue_client("client", "erp-batch"),
        stranger_ca.issue_client("stranger", "erp-batch"),
        stranger_ca,
    )


@dataclass
class SecuredGateway:
    process: GatewayProcess
    tokens: Path
    audit_log: Path

    @property
    def address(self) -> str:
        return f"localhost:{self.process.port}"

    @property
    def health_address(self) -> str:
        return f"127.0.0.1:{self.process.events('listening')[0]['health_port']}"


@pytest.fixture(scope="module")
def tls_gateway(
    zoo_dir: Path, pki: Pki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SecuredGateway]:
    """TLS (server certificate only) + tokens + audit log + a plaintext health port."""
    folder = tmp_path_factory.mktemp("tls-gateway")
    tokens = write_tokens(folder / "tokens.yaml", DEFAULT_CLIENTS)
    audit = folder / "audit" / "audit.jsonl"
    config = folder / "gateway.yaml"
    config.write_text(
        "tokens_check_interval_s: 0.2\nlogging: {mask: [national_id, email]}\n", encoding="utf-8"
    )
    args = ["--config", str(config), "--tls-cert", str(pki.server.cert), "--tls-key", str(pki.server.key)]
    args += ["--tokens", str(tokens), "--audit-log", str(audit), "--health-port", "0", "--log-level", "DEBUG"]
    with gateway_process(zoo_dir, args) as process:
        yield SecuredGateway(process, tokens, audit)


@pytest.fixture(scope="module")
def mtls_gateway(
    zoo_dir: Path, pki: Pki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SecuredGateway]:
    """Mutual TLS without a tokens file: the client certificate's subject is the caller."""
    folder = tmp_path_factory.mktemp("mtls-gateway")
    audit = folder / "audit.jsonl"
    args = ["--tls-cert", str(pki.server.cert), "--tls-key", str(pki.server.key)]
    args += ["--tls-client-ca", str(pki.ca.cert), "--audit-log", str(audit)]
    with gateway_process(zoo_dir, args) as process:
        yield SecuredGateway(process, folder / "none", audit)
