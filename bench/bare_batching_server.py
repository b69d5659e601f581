"""The bare server plus the smallest dynamic batcher: what batching alone reaches on this machine.

bench/bare_server.py with one change: handler threads put their inputs in a shared queue and wait; one
dispatcher thread takes the queue once the oldest request has waited ``--delay-us`` or ``--max-batch`` rows
are waiting, runs them as one ``session.run`` and hands each caller its rows. Single-input models only; no
validation, deadlines or queue bound. bench/gateway.py runs it (``--bare-batching``) with the same delay as
``bridgeway-on``, to tell what the gateway's batching costs from what the machine allows: on 2 cores, the
Python client and gRPC's per-call work bound any batching gain at batch 1.

Prints one line ``{"port": N}`` on stdout once serving.
``python bench/bare_batching_server.py MODEL.onnx --port 0 --delay-us 5000``.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from bare_server import BareServicer, arguments, serve


class _Waiting:
    __slots__ = ("done", "enqueued", "error", "inputs", "outputs")

    def __init__(self, inputs: np.ndarray) -> None:
        self.inputs = inputs
        self.enqueued = time.monotonic()
        self.outputs: list[np.ndarray] = []
        self.error: Exception | None = None
        self.done = threading.Event()


class BatchingServicer(BareServicer):
    def __init__(self, path: str, threads: int, delay_s: float, max_batch: int) -> None:
        super().__init__(path, threads)
        self._delay_s, self._max_batch = delay_s, max_batch
        self._queue: list[_Waiting] = []
        self._rows = 0
        self._changed = threading.Condition()
        threading.Thread(target=self._dispatch_forever, daemon=True).start()

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        (inputs,) = feeds.values()
        waiting = _Waiting(inputs)
        with self._changed:
            self._queue.append(waiting)
            self._rows += len(inputs)
            self._changed.notify()
        waiting.done.wait()
        if waiting.error is not None:
            raise waiting.error
        return waiting.outputs

    def _take(self) -> list[_Waiting]:
        with self._changed:
            while not self._queue:
                self._changed.wait()
            until = self._queue[0].enqueued + self._delay_s
            while self._rows < self._max_batch and (left := until - time.monotonic()) > 0:
                self._changed.wait(left)
            batch, rows = [], 0
            while self._queue and (not batch or rows + len(self._queue[0].inputs) <= self._max_batch):
                batch.append(self._queue.pop(0))
                rows += len(batch[-1].inputs)
            self._rows -= rows
            return batch

    def _dispatch_forever(self) -> None:
        (name,) = (i.name for i in self._session.get_inputs())
        while batch := self._take():
            try:
                results = self._session.run(self._outputs, {name: np.concatenate([w.inputs for w in batch])})
            except Exception as exc:  # every caller of the batch gets the error, none waits forever
                for waiting in batch:
                    waiting.error = exc
                    waiting.done.set()
                continue
            start = 0
            for waiting in batch:
                stop = start + len(waiting.inputs)
                waiting.outputs = [r[start:stop] for r in results]
                waiting.done.set()
                start = stop


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--delay-us", type=int, default=5000, help="longest wait of the oldest request")
    parser.add_argument("--max-batch", type=int, default=1024, help="rows per run at most")
    args = parser.parse_args()
    servicer = BatchingServicer(args.model, args.threads, args.delay_us / 1e6, args.max_batch)
    serve(servicer, args.port, args.workers)


if __name__ == "__main__":
    main()
