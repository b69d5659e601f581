"""``bridgeway run --config bridgeway.yaml``: the gateway (if configured) and every pipeline, until SIGTERM.

Start-up: the config file is validated (every mistake reported with its line and key path, exit 2), the
gateway starts and loads the models (when ``gateway`` is set), ONE inference client is built (the gateway's
own core, a private in-process core, or remote gateways), each pipeline's model is checked once (an unknown
model or a mapping that cannot fit is a configuration error, exit 2; a model that is merely not ready yet
is left for the pipeline to retry), and each pipeline runs on its own thread.

SIGTERM or SIGINT: every pipeline is asked to stop and drains (a files pipeline commits the chunk it is on;
the file resumes from there at the next start), the client closes, the gateway drains its in-flight calls,
and the process exits 0. The log line ``{"event": "running", ...}`` on stderr says that start-up is done.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

import click

__all__ = ["COMMANDS", "run"]

log = logging.getLogger("adapters.run")

_JOIN_TIMEOUT_S = 120.0


class _SetupFailed(Exception):
    """Start-up cannot complete; the message is for the operator."""


@click.command()
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="bridgeway.yaml: models, gateway, inference mode and pipelines.",
)
def run(config_path: Path) -> None:
    """Run the gateway (if configured) and every pipeline until SIGTERM or SIGINT."""
    from adapters.config import ConfigFileError, load_config
    from gateway.logs import configure_logging

    try:
        config = load_config(config_path)
    except ConfigFileError as exc:
        click.echo(exc.report(), err=True)
        raise SystemExit(2) from None
    configure_logging(config.logging.level, mask=config.logging.mask)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    raise SystemExit(_run(config, stop))


def _run(config: Any, stop: threading.Event) -> int:
    from adapters.cli._runtime import GatewayHost, RuntimeSetupError, inference_client, server_settings
    from gateway.audit import AuditError
    from gateway.trust import TrustSetupError

    host: GatewayHost | None = None
    client = None
    audit = None
    try:
        audit = _audit_log(config)
        if config.gateway is not None:
            host = GatewayHost(server_settings(config))
            host.start()
        client = inference_client(config, host)
        runnables = _pipelines(config, client, stop, audit)
        threads = [
            threading.Thread(target=_guarded, args=(name, runnable), name=f"pipeline-{name}", daemon=True)
            for name, runnable in runnables
        ]
        for thread in threads:
            thread.start()
        log.info("running", extra={"pipelines": [name for name, _ in runnables], "gateway": host is not None})
        signalled = _wait(stop, threads, serving=host is not None)
        log.info("draining")
        for thread in threads:
            thread.join(_JOIN_TIMEOUT_S)
        return 0 if signalled else 1
    except (RuntimeSetupError, _SetupFailed, OSError, TrustSetupError, AuditError) as exc:
        log.error("cannot start", extra={"reason": str(exc)})
        stop.set()
        return 2 if not isinstance(exc, OSError) else 1
    finally:
        if client is not None:
            client.close()
        if host is not None:
            host.stop()
        if audit is not None:
            audit.close()
        log.info("stopped")


def _audit_log(config: Any) -> Any:
    """The pipelines' audit log when ``audit`` is configured, else None. Raises AuditError."""
    from adapters.audit import open_audit_log

    section = config.audit
    return None if section is None else open_audit_log(section.log, section.max_bytes, section.fsync)


def _pipelines(config: Any, client: Any, stop: threading.Event, audit_log: Any) -> list[tuple[str, Any]]:
    from adapters.audit import PipelineAudit
    from adapters.files import files_source
    from adapters.files.faults import FaultPlan
    from adapters.runner import UnknownSource, register_source, source_factory

    faults = FaultPlan.from_env(os.environ)  # test hooks only; inert unless the variables are set
    register_source("files", functools.partial(files_source, faults=faults))
    runnables = []
    for pipeline in config.pipelines:
        _check_model(pipeline, client)
        try:
            factory = source_factory(pipeline.source.kind)
        except UnknownSource as exc:
            raise _SetupFailed(f"pipeline {pipeline.name!r}: {exc}") from exc
        audit = PipelineAudit(audit_log, pipeline.name, pipeline.model)
        runnables.append((pipeline.name, factory(pipeline, client, stop, audit=audit)))
    return runnables


def _check_model(pipeline: Any, client: Any) -> None:
    """Fail start-up on configuration mistakes a pipeline cannot recover from; let transient ones pass."""
    from adapters.files.processor import mapping_override
    from adapters.mapping import MappingConfigError
    from adapters.pipeline import ScoringPipeline
    from gateway.errors import BridgewayError

    carry = pipeline.output.carry if pipeline.output is not None else ()
    scoring = None
    try:
        scoring = ScoringPipeline(client, pipeline.model, carry=carry, mapping=mapping_override(pipeline))
    except MappingConfigError as exc:
        raise _SetupFailed(f"pipeline {pipeline.name!r}: {exc}") from exc
    except BridgewayError as exc:
        if not exc.retryable:
            raise _SetupFailed(f"pipeline {pipeline.name!r}: model {pipeline.model!r}: {exc}") from exc
        log.warning("model not ready yet", extra={"pipeline": pipeline.name, "reason": str(exc)})
    if pipeline.source.kind == "files":
        _check_formats(pipeline, scoring)


def _check_formats(pipeline: Any, scoring: Any) -> None:
    """Copybooks parse, and a result copybook can be filled from the model's result columns."""
    from adapters.codecs.errors import CodecError
    from adapters.formats import record_source, result_encoder
    from adapters.pipeline import FileRef

    try:
        record_source(pipeline.input, pipeline.chunk_rows)
        if scoring is not None:
            result_encoder(pipeline.result, scoring.result_columns(FileRef("", "")))
    except (OSError, CodecError, ValueError) as exc:
        raise _SetupFailed(f"pipeline {pipeline.name!r}: {exc}") from exc


def _guarded(name: str, runnable: Any) -> None:
    try:
        runnable.run()
    except Exception:
        log.exception("pipeline ended with an error", extra={"pipeline": name})


def _wait(stop: threading.Event, threads: list[threading.Thread], *, serving: bool) -> bool:
    """Until a signal (True); without a gateway to serve, also until every pipeline has ended (False)."""
    while not stop.wait(0.5):
        if not serving and threads and not any(t.is_alive() for t in threads):
            log.error("every pipeline has ended; stopping")
            stop.set()
            return False
    return True


COMMANDS = [run]
