"""``bridgeway health``: one grpc.health.v1 check against a gateway, for container health checks.

Exit codes: 0 SERVING; 1 anything else (NOT_SERVING, unknown service, unreachable, timed out). It prints the
status on one line, so the container runtime's health log says why.
"""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["COMMANDS", "health"]


@click.command()
@click.option("--address", default="127.0.0.1:8001", show_default=True, help="Gateway host:port.")
@click.option("--service", default="", help='Service to check: "" the server, "<model>" one model.')
@click.option("--timeout", "timeout_s", type=float, default=3.0, show_default=True, help="Seconds.")
@click.option("--tls-ca", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="CA (TLS).")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="mTLS cert.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="mTLS key.")
@click.option("--server-name", help="Name to check the server certificate against (default: the host).")
def health(
    address: str,
    service: str,
    timeout_s: float,
    tls_ca: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    server_name: str | None,
) -> None:
    """Ask a gateway's grpc.health.v1 service whether it (or one model) is SERVING."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    secure = tls_ca is not None or tls_cert is not None
    options = [("grpc.ssl_target_name_override", server_name)] if server_name else []
    if secure:
        credentials = grpc.ssl_channel_credentials(
            tls_ca.read_bytes() if tls_ca else None,
            tls_key.read_bytes() if tls_key else None,
            tls_cert.read_bytes() if tls_cert else None,
        )
        channel = grpc.secure_channel(address, credentials, options=options)
    else:
        channel = grpc.insecure_channel(address, options=options)
    with channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout_s
            )
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            click.echo(f"{address} {service!r}: {getattr(code, 'name', 'UNKNOWN')}", err=True)
            raise SystemExit(1) from None
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    click.echo(f"{address} {service!r}: {status}")
    raise SystemExit(0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1)


COMMANDS = [health]
