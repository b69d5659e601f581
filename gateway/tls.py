"""Server-side TLS for the gateway: ``--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]``.

With a client CA the server requires and verifies a client certificate signed by it (mutual TLS); the
certificate's subject then identifies the caller (``gateway.auth``). Files are PEM. They are read once at
start-up: rotate certificates by rolling the gateways (docs/operations.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

__all__ = ["TlsFiles", "TlsSetupError"]


class TlsSetupError(ValueError):
    """A TLS option is incomplete or its file cannot be used; the message names the option."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The PEM files of a TLS listener. ``client_ca`` switches on mutual TLS."""

    cert: Path
    key: Path
    client_ca: Path | None = None

    @classmethod
    def from_options(cls, cert: Path | None, key: Path | None, client_ca: Path | None) -> TlsFiles | None:
        """TLS files from the three options, or None for a plaintext listener.

        Raises TlsSetupError when only one of cert/key is given, or a client CA comes without them.
        """
        if cert is None and key is None:
            if client_ca is not None:
                raise TlsSetupError("--tls-client-ca needs --tls-cert and --tls-key (mutual TLS is TLS)")
            return None
        if cert is None or key is None:
            missing = "--tls-cert" if cert is None else "--tls-key"
            raise TlsSetupError(f"--tls-cert and --tls-key go together: {missing} is missing")
        return cls(Path(cert), Path(key), Path(client_ca) if client_ca is not None else None)

    @property
    def mutual(self) -> bool:
        return self.client_ca is not None

    def server_credentials(self) -> grpc.ServerCredentials:
        """gRPC server credentials; raises TlsSetupError naming the option whose file is unusable."""
        cert = _read_pem("--tls-cert", self.cert, b"CERTIFICATE")
        key = _read_pem("--tls-key", self.key, b"PRIVATE KEY")
        if self.client_ca is None:
            return grpc.ssl_server_credentials([(key, cert)])
        ca = _read_pem("--tls-client-ca", self.client_ca, b"CERTIFICATE")
        return grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=True)


def _read_pem(option: str, path: Path, label: bytes) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TlsSetupError(f"{option}: cannot read {path}: {exc.strerror or exc}") from exc
    # gRPC would only fail at the first handshake, with a message that names no file: check the PEM label.
    if b"-----BEGIN " not in data or label not in data:
        raise TlsSetupError(f"{option}: {path} is not a PEM file holding a {label.decode().lower()}")
    return data
