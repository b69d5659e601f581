"""``bridgeway serve``: run the gRPC gateway until SIGTERM, then drain and exit 0.

Settings come from ``--config FILE`` (YAML with the ServerSettings keys) with the command-line flags on top.
Once bound, the gateway logs one JSON line ``{"event": "listening", "port": N, "metrics_port": M, ...}`` on
stderr, so a supervisor or a test can pass ``--port 0`` and read the chosen ports back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

__all__ = ["COMMANDS", "serve", "server_settings"]


def server_settings(config: Path | None, overrides: dict[str, Any]) -> Any:
    """ServerSettings from the optional YAML file, then the flags that were given (``None`` = not given).

    Raises click.UsageError naming the file and key path of every invalid setting.
    """
    from pydantic import ValidationError

    from gateway.config import ConfigError, ServerSettings, load_yaml_document

    try:
        base = load_yaml_document(config, ServerSettings) if config is not None else ServerSettings()
        given = {key: value for key, value in overrides.items() if value is not None}
        return ServerSettings.model_validate({**base.model_dump(exclude_unset=True), **given})
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise click.UsageError(f"command line: {problems}") from exc


def _trust_options(command: Any) -> Any:
    """The security and audit flags (DESIGN.md "Security and audit"), named as their ServerSettings keys."""
    files = (
        ("--tls-cert", "PEM certificate (chain) of the server: the gRPC port speaks TLS."),
        ("--tls-key", "PEM private key of --tls-cert."),
        ("--tls-client-ca", "PEM CA that must have signed the clients' certificates (mutual TLS)."),
        ("--tokens", "YAML tokens file: clients, SHA-256 of their tokens, models; re-read when it changes."),
        ("--audit-log", "Append-only, hash-chained JSON Lines audit log: one event per request."),
    )
    for flag, text in reversed(files):
        command = click.option(
            flag, type=click.Path(dir_okay=False, path_type=Path), metavar="FILE", help=text
        )(command)
    return click.option(
        "--health-port",
        type=int,
        help="Plaintext port answering only health and liveness, beside a TLS port.",
    )(command)


@click.command()
@click.option("--models", "models_dir", type=click.Path(path_type=Path), help="Model repository folder.")
@click.option("--port", type=int, help="gRPC port (0: any free port).")
@click.option("--metrics-port", type=int, help="Prometheus /metrics port (0: any free port).")
@click.option("--host", help="Address to bind both ports to (default 127.0.0.1).")
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML file with server settings; flags override it. Relative paths are from the working directory.",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default="INFO",
    show_default=True,
    help="DEBUG adds an access-log line per call.",
)
@_trust_options
def serve(
    models_dir: Path | None,
    port: int | None,
    metrics_port: int | None,
    host: str | None,
    config: Path | None,
    log_level: str,
    **trust: Any,
) -> None:
    """Serve the models in a repository over the Open Inference Protocol (gRPC)."""
    settings = server_settings(
        config, {"models_dir": models_dir, "port": port, "metrics_port": metrics_port, "host": host, **trust}
    )
    if not settings.models_dir.is_dir():
        raise click.UsageError(f"--models: {settings.models_dir} is not a folder")

    from gateway.server import serve as run_gateway

    raise SystemExit(run_gateway(settings, log_level.upper()))


COMMANDS = [serve]
