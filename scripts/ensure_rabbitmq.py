"""Make sure a RabbitMQ broker answers on RABBITMQ_URL before the tests run.

Order (as the test harness documents): a broker already answering on the URL; else the local
`rabbitmq-server` (Debian package), started detached. Inside the tests, testcontainers is tried where a Docker
engine runs. With CI set, finding no broker is a failure: a skipped broker test proves nothing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from urllib.parse import urlparse

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def start_local_broker() -> bool:
    server = shutil.which("rabbitmq-server") or "/usr/sbin/rabbitmq-server"
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    if not os.path.exists(server):
        return False
    print("ensure_rabbitmq: starting the local rabbitmq-server", flush=True)
    subprocess.run([server, "-detached"], check=False)
    # await_startup blocks until the node is fully booted (or fails fast if it never started).
    for _ in range(3):
        time.sleep(2)
        done = subprocess.run([ctl, "-q", "await_startup", "--timeout", "60"], check=False)
        if done.returncode == 0:
            return True
    return False


def main() -> int:
    url = urlparse(os.environ.get("RABBITMQ_URL", DEFAULT_URL))
    host, port = url.hostname or "127.0.0.1", url.port or 5672
    if answers(host, port):
        print(f"ensure_rabbitmq: a broker answers on {host}:{port}")
        return 0
    if host in ("127.0.0.1", "localhost") and start_local_broker():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if answers(host, port):
                print(f"ensure_rabbitmq: local broker up on {host}:{port}")
                return 0
            time.sleep(0.5)
    message = f"ensure_rabbitmq: no RabbitMQ broker on {host}:{port} and none could be started"
    if os.environ.get("CI"):
        print(message + " (CI: failing)", file=sys.stderr)
        return 1
    print(message + "; broker tests will look for Docker or skip loudly", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
