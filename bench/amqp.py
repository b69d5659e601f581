"""AMQP benchmark: the Bridgeway pipeline against a bare pika echo consumer, in one run on the same broker.

For each system, N requests (one breast-cancer record as JSON per message, from models/samples) are
published with confirms to a fresh quorum queue declared with the pipeline's arguments; then the consumer,
already warm in its own process (bench/amqp_servers.py), is told to start. Throughput is requests/s end to
end: from that start to the last result received on the reply queue (results are persistent, publisher
confirmed, and each request is acked only after its result's confirm, in every system). Systems:

* ``echo`` -- bare pika: request body back to reply_to, ack after confirm (the baseline);
* ``bridgeway-batched`` -- Bridgeway, micro-batching across messages (``--max-messages``, ``--max-wait-ms``);
* ``bridgeway-unbatched`` -- Bridgeway, one message per inference call (``max_messages: 1``).

Prints requests/s and the ratios to echo; the target (DESIGN.md) is batched >= 0.5 x echo. With
``--rounds`` > 1 the systems run interleaved and each keeps its best round (the machine's load drifts).

    python bench/amqp.py [--n 10000] [--prefetch 512] [--rounds 1] [--record]
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pika

ROOT = Path(__file__).resolve().parents[1]
# The repository root first: bench/gateway.py would shadow the gateway package, and the test-support
# publisher (streaming confirms) is shared with the tests.
sys.path.insert(0, str(ROOT))

from adapters.amqp.settings import AmqpSourceSettings  # noqa: E402
from adapters.amqp.topology import request_queue_arguments  # noqa: E402
from tests.support.amqp_client import publish_confirmed  # noqa: E402

SERVERS = Path(__file__).with_name("amqp_servers.py")
TARGET = 0.5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="AMQP benchmark: Bridgeway vs a bare pika echo consumer.")
    parser.add_argument(
        "--url", default=os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    )
    parser.add_argument("--n", type=int, default=10_000, help="requests per system (default 10000)")
    parser.add_argument("--n-unbatched", type=int, default=2_000, help="requests for the slow unbatched run")
    parser.add_argument("--prefetch", type=int, default=512, help="prefetch of every consumer (default 512)")
    parser.add_argument("--max-messages", type=int, default=256, help="micro-batch size (default 256)")
    parser.add_argument("--max-wait-ms", type=float, default=5.0, help="micro-batch wait (default 5)")
    parser.add_argument(
        "--rounds", type=int, default=1, help="interleaved rounds; best per system (default 1)"
    )
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    return parser.parse_args(argv)


def request_bodies(models: Path) -> list[bytes]:
    """One JSON record per message: the breast-cancer sample rows (claim_id carried along)."""
    with open(models / "samples" / "breast-cancer-claims.csv", newline="", encoding="utf-8") as sample:
        rows = list(csv.DictReader(sample))
    return [
        json.dumps({k: (v if k == "claim_id" else float(v)) for k, v in row.items()}).encode() for row in rows
    ]


def run_system(args: argparse.Namespace, system: str, bodies: list[bytes]) -> float:
    """Requests/s of one system over ``args.n`` (``args.n_unbatched``) pre-published requests."""
    n = args.n_unbatched if system == "bridgeway-unbatched" else args.n
    queue, replies = f"bench-req-{uuid.uuid4().hex[:8]}", f"bench-rep-{uuid.uuid4().hex[:8]}"
    source = AmqpSourceSettings(url=args.url, queue=queue)
    connection = pika.BlockingConnection(pika.URLParameters(args.url))
    channel = connection.channel()
    channel.queue_declare(queue, durable=True, arguments=request_queue_arguments(source))
    channel.queue_declare(replies, durable=True, arguments={"x-queue-type": "quorum"})
    try:
        messages = [
            (bodies[i % len(bodies)], pika.BasicProperties(message_id=f"b-{i}", correlation_id=f"b-{i}",
                                                           reply_to=replies, content_type="application/json",
                                                           delivery_mode=2))
            for i in range(n)
        ]  # fmt: skip
        if len(publish_confirmed(args.url, queue, messages)) != n:
            raise RuntimeError("the broker did not confirm every request")
        with tempfile.TemporaryDirectory() as state:
            return _timed(args, system, queue, replies, channel, state, n)
    finally:
        for name in (queue, replies, f"{queue}.dead"):
            channel.queue_delete(name)
        channel.exchange_delete(f"{queue}.dlx")
        connection.close()


def _timed(
    args: argparse.Namespace, system: str, queue: str, replies: str, channel: object, state: str, n: int
) -> float:
    if system == "echo":
        command = ["echo", args.url, queue, str(args.prefetch)]
    else:
        batch = args.max_messages if system == "bridgeway-batched" else 1
        command = ["bridgeway", args.url, queue, str(args.prefetch), str(batch), str(args.max_wait_ms),
                   str(args.models), state]  # fmt: skip
    server = subprocess.Popen([sys.executable, str(SERVERS), *command], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)  # fmt: skip
    try:
        assert server.stdout is not None and server.stdin is not None
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{system} did not start")
        started = time.perf_counter()
        server.stdin.write("go\n")
        server.stdin.flush()
        _collect(channel, replies, n)
        return n / (time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait(timeout=60)


def _collect(channel: object, replies: str, count: int) -> None:
    """Wait until the reply queue holds ``count`` results. Polling the broker's count (every 10 ms) instead
    of consuming keeps this process idle, so it takes no CPU from the system under test."""
    deadline = time.monotonic() + 600
    while True:
        ok = channel.queue_declare(replies, passive=True)  # type: ignore[attr-defined]
        if ok.method.message_count >= count:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {ok.method.message_count} of {count} results within 600 s")
        time.sleep(0.01)


def report(args: argparse.Namespace, rates: dict[str, float]) -> str:
    echo = rates["echo"]
    lines = [
        "| system | requests/s | ratio to echo |",
        "|---|---:|---:|",
        *(f"| {name} | {rate:,.0f} | {rate / echo:.2f} |" for name, rate in rates.items()),
    ]
    verdict = "PASS" if rates["bridgeway-batched"] >= TARGET * echo else "MISS"
    lines.append(f"\nTarget: bridgeway-batched >= {TARGET} x echo: **{verdict}** "
                 f"({rates['bridgeway-batched'] / echo:.2f} x)")  # fmt: skip
    return "\n".join(lines)


def record(args: argparse.Namespace, table: str) -> None:
    cpu = _cpu_model()
    section = (
        f"\n## AMQP: Bridgeway pipeline vs bare pika echo consumer ({datetime.date.today().isoformat()})\n\n"
        f"- machine: {cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, pika {pika.__version__}; RabbitMQ on loopback; "
        f"load average at the end {os.getloadavg()[0]:.1f} (a machine shared with other work)\n"
        f"- command: `python bench/amqp.py --n {args.n} --n-unbatched {args.n_unbatched} "
        f"--prefetch {args.prefetch} --max-messages {args.max_messages} --max-wait-ms {args.max_wait_ms:g} "
        f"--rounds {args.rounds} --record`\n"
        "- one breast-cancer record (JSON) per message; quorum request and reply queues; persistent results "
        "with publisher confirms; every request acked after its result's confirm\n\n"
        f"{table}\n"
    )
    with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as results:
        results.write(section)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bodies = request_bodies(args.models)
    systems = ("echo", "bridgeway-batched", "bridgeway-unbatched")
    rates: dict[str, float] = {}
    for round_no in range(args.rounds):
        for system in systems:
            rate = run_system(args, system, bodies)
            print(f"round {round_no + 1}: {system:<20} {rate:>9,.0f} requests/s", flush=True)
            rates[system] = max(rates.get(system, 0.0), rate)
    table = report(args, rates)
    print("\n" + table)
    if args.record:
        record(args, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
