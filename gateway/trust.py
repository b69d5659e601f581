"""The gateway's trust set-up, built once from its settings: TLS listener, authentication, audit.

``GatewayTrust.open(settings)`` turns the security keys of ``ServerSettings`` (``tls_cert``, ``tls_key``,
``tls_client_ca``, ``tokens``, ``audit_log`` and friends) into what ``gateway.server`` plugs in: the
credentials of the listening port, the authentication interceptor, the per-request ``InferenceGuard`` and the
audit log to close on stop. Every problem is reported before the port is bound, as a TrustSetupError naming
the option and the file.

With TLS on, ``health_port`` opens a second, plaintext port for probes that cannot speak TLS (Kubernetes
gRPC probes): on it only ServerLive, ServerReady, grpc.health.v1 and reflection answer; every other call is
refused with UNAUTHENTICATED.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import grpc

from gateway.audit import AuditError, AuditLog, FsyncPolicy
from gateway.auth import AuthInterceptor, TokenBook
from gateway.config import ConfigError
from gateway.guard import InferenceGuard
from gateway.tls import TlsFiles, TlsSetupError

__all__ = ["GatewayTrust", "TrustSettings", "TrustSetupError"]

_log = logging.getLogger("gateway.trust")


class TrustSetupError(ValueError):
    """A security option cannot be honoured; the message names the option and the file."""


class TrustSettings(Protocol):
    """The settings keys this module reads (``gateway.config.ServerSettings`` has them)."""

    tls_cert: Path | None
    tls_key: Path | None
    tls_client_ca: Path | None
    tokens: Path | None
    tokens_check_interval_s: float
    audit_log: Path | None
    audit_max_bytes: int
    audit_fsync: FsyncPolicy
    health_port: int | None


@dataclass
class GatewayTrust:
    """What the server plugs in. ``interceptors`` go after the request-id and access-log interceptors."""

    tls: TlsFiles | None = None
    credentials: grpc.ServerCredentials | None = None
    interceptors: list[grpc.aio.ServerInterceptor] = field(default_factory=list)
    guard: InferenceGuard | None = None
    audit: AuditLog | None = None
    health_port: int | None = None

    @classmethod
    def open(cls, settings: TrustSettings) -> GatewayTrust:
        """Read certificates and tokens, open the audit log. Raises TrustSetupError."""
        try:
            tls = TlsFiles.from_options(settings.tls_cert, settings.tls_key, settings.tls_client_ca)
            credentials = tls.server_credentials() if tls is not None else None
            tokens = TokenBook(settings.tokens, settings.tokens_check_interval_s) if settings.tokens else None
        except TlsSetupError as exc:
            raise TrustSetupError(str(exc)) from exc
        except ConfigError as exc:
            raise TrustSetupError(f"--tokens: {exc}") from exc
        trust = cls(tls, credentials, health_port=settings.health_port)
        mutual = tls is not None and tls.mutual
        if tokens is not None or mutual or (tls is not None and settings.health_port is not None):
            trust.interceptors.append(AuthInterceptor(tokens, mutual, require_tls=tls is not None))
        if settings.audit_log is not None:
            try:
                trust.audit = AuditLog(
                    settings.audit_log,
                    max_bytes=settings.audit_max_bytes,
                    fsync=settings.audit_fsync,
                    source="gateway",
                )
            except (AuditError, OSError) as exc:
                raise TrustSetupError(f"--audit-log: {exc}") from exc
        if trust.interceptors or trust.audit is not None:
            trust.guard = InferenceGuard(trust.audit)
        trust._describe()
        return trust

    def bind(self, server: grpc.aio.Server, address: str, health_address: str | None) -> tuple[int, int]:
        """Add the listening port(s) to ``server``; returns (port, health port or 0)."""
        if self.credentials is not None:
            port = server.add_secure_port(address, self.credentials)
        else:
            port = server.add_insecure_port(address)
        health = server.add_insecure_port(health_address) if health_address is not None else 0
        return port, health

    def close(self) -> None:
        """Write the queued audit events and close the audit log."""
        if self.audit is not None:
            self.audit.close()

    def _describe(self) -> None:
        facts: dict[str, Any] = {
            "tls": "off" if self.tls is None else ("mutual" if self.tls.mutual else "on"),
            "authentication": "on" if self.interceptors else "off",
            "audit": "on" if self.audit is not None else "off",
        }
        _log.info("trust", extra=facts)
