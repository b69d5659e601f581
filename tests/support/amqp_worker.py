"""The AMQP adapter as a separate process, for the SIGKILL fault test (RELIABILITY T2).

``python -m tests.support.amqp_worker SETTINGS.json JOURNAL.jsonl [DELAY_S]`` runs the pipeline of
``SETTINGS.json`` (AmqpPipelineSettings) with the fake classifier (``DELAY_S`` per inference call) until
SIGTERM, appending each adapter event to ``JOURNAL.jsonl`` as one JSON line written with a single
``write`` on an ``O_APPEND`` descriptor, so lines survive a SIGKILL whole.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

from adapters.amqp.service import AmqpPipeline
from adapters.amqp.settings import AmqpPipelineSettings
from tests.support.amqp_adapter import classifier_client


def main(argv: list[str]) -> int:
    settings = AmqpPipelineSettings.model_validate_json(open(argv[1], encoding="utf-8").read())
    journal = os.open(argv[2], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    delay_s = float(argv[3]) if len(argv) > 3 else 0.0
    pid = os.getpid()

    def record(name: str, fields: Mapping[str, Any]) -> None:
        line = json.dumps({"t": time.time(), "pid": pid, "event": name, **fields}) + "\n"
        os.write(journal, line.encode())

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    pipeline = AmqpPipeline(settings, classifier_client(delay_s=delay_s), stop, environ={}, events=record)
    pipeline.run()
    return 1 if pipeline.failure is not None else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
