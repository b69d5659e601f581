"""Finding a RabbitMQ broker for the tests, and administering it the way RabbitMQ's own tests do.

Order (STYLE §5.5): ``RABBITMQ_URL`` if set; else a broker answering on 127.0.0.1:5672; else a
testcontainers RabbitMQ where a Docker engine answers; else the local ``rabbitmq-server`` started detached.
With ``CI`` set, finding none is a failure, never a skip (a skipped broker test proves nothing).

:class:`Broker` wraps what the fault tests need: unique queue names deleted afterwards, and the
``rabbitmqctl`` faults (stop_app/start_app, close_all_connections, memory watermark) for a local node.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlparse

import pika
import pika.exceptions

__all__ = ["Broker", "BrokerNotFound", "find_broker", "scoped_user"]

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


class BrokerNotFound(RuntimeError):
    """No broker answered and none could be started."""


def answers(host: str, port: int, timeout_s: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def find_broker() -> Iterator[str]:
    """Yield the URL of a running broker (see the module docstring); raise BrokerNotFound if none."""
    url = os.environ.get("RABBITMQ_URL")
    if url:
        yield url
        return
    if answers("127.0.0.1", 5672):
        yield DEFAULT_URL
        return
    container = _docker_broker()
    if container is not None:
        with container as started:
            host, port = started.get_container_host_ip(), started.get_exposed_port(5672)
            yield f"amqp://guest:guest@{host}:{port}/%2F"
        return
    if _start_local_broker():
        yield DEFAULT_URL
        return
    raise BrokerNotFound(
        "no RabbitMQ broker: RABBITMQ_URL unset, nothing on 127.0.0.1:5672, no Docker engine, "
        "and no local rabbitmq-server could be started"
    )


def _docker_broker() -> contextlib.AbstractContextManager | None:  # type: ignore[type-arg]
    try:
        import docker  # testcontainers depends on it

        docker.from_env().ping()
        from testcontainers.rabbitmq import RabbitMqContainer
    except Exception:
        return None
    return RabbitMqContainer("rabbitmq:3.13")


def _start_local_broker() -> bool:
    server = shutil.which("rabbitmq-server") or "/usr/sbin/rabbitmq-server"
    ctl = _rabbitmqctl()
    if not os.path.exists(server) or ctl is None:
        return False
    subprocess.run([server, "-detached"], check=False, capture_output=True)
    for _ in range(3):
        time.sleep(2)
        if subprocess.run([ctl, "-q", "await_startup", "--timeout", "60"], check=False).returncode == 0:
            break
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if answers("127.0.0.1", 5672):
            return True
        time.sleep(0.5)
    return False


@functools.cache
def _ctl_works() -> bool:
    """rabbitmqctl is installed and may talk to the node (it needs the node's Erlang cookie)."""
    ctl = _rabbitmqctl()
    if ctl is None:
        return False
    try:
        return subprocess.run([ctl, "-q", "ping"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _rabbitmqctl() -> str | None:
    found = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    return found if os.path.exists(found) else None


@dataclass
class Broker:
    """A broker for one test: unique names (deleted by :meth:`cleanup`), admin calls and local faults."""

    url: str
    _queues: list[str] = field(default_factory=list)
    _exchanges: list[str] = field(default_factory=list)

    def name(self, purpose: str) -> str:
        """A unique queue/exchange name for this test, e.g. ``bw-t-requests-1a2b3c4d``."""
        return f"bw-t-{purpose}-{uuid.uuid4().hex[:8]}"

    def track(self, *, queues: tuple[str, ...] = (), exchanges: tuple[str, ...] = ()) -> None:
        """Remember names to delete at the end of the test."""
        self._queues.extend(queues)
        self._exchanges.extend(exchanges)

    @contextlib.contextmanager
    def channel(self) -> Iterator[pika.adapters.blocking_connection.BlockingChannel]:
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            yield connection.channel()
        finally:
            with contextlib.suppress(pika.exceptions.AMQPError):
                connection.close()

    def declare_queue(self, name: str, *, quorum: bool = True) -> None:
        self.track(queues=(name,))
        args = {"x-queue-type": "quorum"} if quorum else {}
        with self.channel() as ch:
            ch.queue_declare(name, durable=True, arguments=args)

    def delete_queue(self, name: str) -> None:
        with self.channel() as ch:
            ch.queue_delete(name)

    def message_count(self, name: str) -> int:
        with self.channel() as ch:
            return int(ch.queue_declare(name, passive=True).method.message_count)

    def get_all(self, name: str) -> list[tuple[pika.spec.Basic.GetOk, pika.BasicProperties, bytes]]:
        """Drain ``name`` with basic.get (acking each), for assertions on dead letters and replies."""
        got = []
        with self.channel() as ch:
            while True:
                method, properties, body = ch.basic_get(name, auto_ack=True)
                if method is None:
                    return got
                got.append((method, properties, body))

    def cleanup(self) -> None:
        with contextlib.suppress(pika.exceptions.AMQPError, OSError), self.channel() as ch:
            for queue in self._queues:
                ch.queue_delete(queue)
            for exchange in self._exchanges:
                ch.exchange_delete(exchange)

    # -- faults on a local node (rabbitmqctl) ------------------------------------------------------------
    @property
    def is_local(self) -> bool:
        """True when this test can drive the broker's node with rabbitmqctl (local, and allowed to)."""
        host = urlparse(self.url).hostname
        return host in ("127.0.0.1", "localhost") and _ctl_works()

    def ctl(self, *args: str, timeout_s: float = 120) -> str:
        ctl = _rabbitmqctl()
        if ctl is None:
            raise BrokerNotFound("rabbitmqctl is not installed")
        done = subprocess.run(
            [ctl, "-q", *args], check=True, capture_output=True, text=True, timeout=timeout_s
        )
        return done.stdout

    def close_connections(self, connection_name: str, reason: str = "test: connection dropped") -> int:
        """Close the connections whose client-provided ``connection_name`` is exactly this one (the others
        on a shared broker are left alone); returns how many were closed."""
        closed = 0
        marker = f'{{"connection_name","{connection_name}"}}'
        for line in self.ctl(
            "list_connections", "--no-table-headers", "pid", "client_properties"
        ).splitlines():
            pid, _, properties = line.partition("\t")
            if marker in properties:
                with contextlib.suppress(subprocess.CalledProcessError):  # it may be gone already
                    self.ctl("close_connection", pid, reason)
                    closed += 1
        return closed

    def stop_app(self) -> None:
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")
        self.ctl("await_startup", "--timeout", "60")

    def memory_watermark(self) -> str:
        """The current relative vm_memory_high_watermark, as rabbitmqctl accepts it back."""
        out = self.ctl("environment")
        marker = "{vm_memory_high_watermark,"
        start = out.find(marker)
        if start < 0:
            return "0.4"
        value = out[start + len(marker) : out.index("}", start)].strip()
        return value if value.replace(".", "", 1).isdigit() else "0.4"

    def set_memory_watermark(self, value: str) -> None:
        self.ctl("set_vm_memory_high_watermark", value)


@contextlib.contextmanager
def scoped_user(broker: Broker, configure: str, write: str, read: str) -> Iterator[tuple[str, str]]:
    """A throwaway vhost with an admin grant for ``guest`` and a user holding exactly these permission
    regexes; yields (the user's URL, the guest URL) for that vhost and deletes both afterwards."""
    tag = uuid.uuid4().hex[:8]
    vhost, user, password = f"bw-t-vhost-{tag}", f"bw-t-user-{tag}", uuid.uuid4().hex
    ctl = _rabbitmqctl()
    if ctl is None:
        raise BrokerNotFound("rabbitmqctl is not installed")
    broker.ctl("add_vhost", vhost)
    try:
        # the password goes through stdin, never a command line
        subprocess.run(
            [ctl, "-q", "add_user", user], input=password, text=True, check=True, capture_output=True
        )
        broker.ctl("set_permissions", "-p", vhost, user, configure, write, read)
        broker.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        parts = urlparse(broker.url)
        base = f"{parts.hostname}:{parts.port or 5672}/{vhost}"
        yield f"amqp://{user}:{password}@{base}", f"amqp://{parts.username}:{parts.password}@{base}"
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            broker.ctl("delete_user", user)
        broker.ctl("delete_vhost", vhost)
