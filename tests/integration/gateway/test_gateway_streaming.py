"""ModelStreamInfer: replies in the stream envelope, an error mid-stream leaves the stream open."""

from __future__ import annotations

import queue
from collections.abc import Iterator

import numpy as np
import pytest
import tritonclient.grpc as triton

from tests.support.gateway_process import GatewayProcess
from tests.support.triton_calls import inputs_for

GOOD = inputs_for(INPUT0=np.ones((2, 4), np.float32), INPUT1=np.full((2, 4), 2, np.float32))
BAD_SHAPE = inputs_for(INPUT0=np.ones((1, 3), np.float32), INPUT1=np.ones((1, 3), np.float32))
WAIT_S = 10


@pytest.fixture
def stream(gateway: GatewayProcess) -> Iterator[tuple[triton.InferenceServerClient, queue.Queue]]:
    replies: queue.Queue = queue.Queue()
    with triton.InferenceServerClient(gateway.address) as client:
        client.start_stream(callback=lambda result, error: replies.put((result, error)))
        try:
            yield client, replies
        finally:
            client.stop_stream()


def collect(replies: queue.Queue, count: int) -> tuple[dict[str, np.ndarray], list[str]]:
    """``count`` replies: results by request id, and error messages."""
    results, errors = {}, []
    for _ in range(count):
        result, error = replies.get(timeout=WAIT_S)
        if error is not None:
            errors.append(str(error.message()))
        else:
            results[result.get_response().id] = result.as_numpy("OUTPUT0")
    return results, errors


def test_stream_replies_to_each_request_by_id(stream) -> None:
    client, replies = stream
    for index in range(5):
        client.async_stream_infer("add_sub", GOOD, request_id=f"r{index}")
    results, errors = collect(replies, 5)
    assert errors == []
    assert sorted(results) == [f"r{i}" for i in range(5)]
    for output in results.values():
        np.testing.assert_array_equal(output, np.full((2, 4), 3, np.float32))


def test_error_mid_stream_is_an_error_reply_and_the_stream_stays_open(stream) -> None:
    client, replies = stream
    client.async_stream_infer("add_sub", GOOD, request_id="before")
    client.async_stream_infer("add_sub", BAD_SHAPE, request_id="broken")
    client.async_stream_infer("no_such_model", GOOD, request_id="lost")
    client.async_stream_infer("add_sub", GOOD, request_id="after")
    results, errors = collect(replies, 4)
    assert sorted(results) == ["after", "before"]
    assert sorted(errors) == [
        "input 'INPUT0': expected shape [-1, 4], got [1, 3] (request id broken)",
        "unknown model 'no_such_model' (request id lost)",
    ]
    client.async_stream_infer("add_sub", GOOD, request_id="later")
    assert sorted(collect(replies, 1)[0]) == ["later"]
