"""RemoteInferenceClient against in-process gRPC servers scripted to fail: retries, failover, metadata, TLS.

The servers are real ``grpc.server`` instances on loopback port 0 running a scripted Open Inference Protocol
servicer, so the client's own channel, status translation and retry logic run for real.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest

from adapters.client.remote import RemoteInferenceClient, RetryPolicy, TlsOptions
from gateway import convert
from gateway.errors import DeadlineExceeded, InvalidInput, ModelNotReady, QueueFull, RuntimeFailure
from gateway.types import InferRequest, InferResponse, Tensor
from protos import pb, pb_grpc

FAST = RetryPolicy(retries=3, initial_s=0.001, max_s=0.002)
REQUEST = InferRequest("m", [Tensor("x", "FP32", np.array([1.0, 2.0], dtype=np.float32))])


class ScriptedServicer(pb_grpc.GRPCInferenceServiceServicer):
    """Answers ModelInfer with ``x + 1``, after failing with the scripted status codes in order."""

    def __init__(self, failures: list[grpc.StatusCode] | None = None):
        self.failures = list(failures or [])
        self.calls = 0
        self.metadata: list[dict[str, Any]] = []
        self.malformed = False
        self.hold: threading.Event | None = None  # when set, each call waits for it (at most 5 s)
        self._lock = threading.Lock()

    def ModelInfer(
        self, request: pb.ModelInferRequest, context: grpc.ServicerContext
    ) -> pb.ModelInferResponse:
        with self._lock:
            self.calls += 1
            self.metadata.append(dict(context.invocation_metadata()))
            failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            context.abort(failure, f"scripted {failure.name}")
        if self.hold is not None:
            self.hold.wait(5)
        decoded = convert.request_from_pb(request)
        x = decoded.inputs[0].data
        reply = convert.response_to_pb(
            InferResponse(decoded.model_name, "3", [Tensor("y", "FP32", x + 1)], model_sha256="f" * 64)
        )
        if self.malformed:
            reply.raw_output_contents[0] = b"\x00"  # 1 byte for 2 FP32 values
        return reply


class Server:
    def __init__(self, servicer: ScriptedServicer, credentials: grpc.ServerCredentials | None = None):
        self.servicer = servicer
        self.server = grpc.server(ThreadPoolExecutor(4))
        pb_grpc.add_GRPCInferenceServiceServicer_to_server(servicer, self.server)
        if credentials is None:
            self.port = self.server.add_insecure_port("127.0.0.1:0")
        else:
            self.port = self.server.add_secure_port("127.0.0.1:0", credentials)
        self.server.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.server.stop(None)


def serve(servers: list[Server], failures: list[grpc.StatusCode] | None = None, **kwargs: Any) -> Server:
    server = Server(ScriptedServicer(failures), **kwargs)
    servers.append(server)
    return server


def dead_address() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"  # closed on exit: nothing listens there


def test_infer_sends_raw_tensors_and_reads_version_and_sha256(servers):
    server = serve(servers)
    with RemoteInferenceClient([server.address], retry=FAST) as client:
        response = client.infer(REQUEST)

    np.testing.assert_array_equal(response.outputs[0].data, [2.0, 3.0])
    assert (response.model_version, response.model_sha256) == ("3", "f" * 64)


def test_retryable_errors_are_retried_until_success(servers):
    server = serve(servers, [grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE])
    with RemoteInferenceClient([server.address], retry=FAST) as client:
        response = client.infer(REQUEST)

    assert server.servicer.calls == 3
    np.testing.assert_array_equal(response.outputs[0].data, [2.0, 3.0])


def test_retries_are_bounded_and_the_last_error_keeps_its_grpc_cause(servers):
    server = serve(servers, [grpc.StatusCode.RESOURCE_EXHAUSTED] * 10)
    with RemoteInferenceClient([server.address], retry=FAST) as client, pytest.raises(QueueFull) as caught:
        client.infer(REQUEST)

    assert server.servicer.calls == FAST.retries + 1
    assert str(caught.value) == "scripted RESOURCE_EXHAUSTED"
    assert isinstance(caught.value.__cause__, grpc.RpcError)


def test_caller_errors_are_not_retried(servers):
    server = serve(servers, [grpc.StatusCode.INVALID_ARGUMENT])
    with RemoteInferenceClient([server.address], retry=FAST) as client, pytest.raises(InvalidInput):
        client.infer(REQUEST)

    assert server.servicer.calls == 1


def test_an_unreachable_target_fails_over_to_the_next_one(servers):
    server = serve(servers)
    with RemoteInferenceClient([dead_address(), server.address], retry=RetryPolicy(retries=0)) as client:
        for _ in range(4):
            client.infer(REQUEST)

    assert server.servicer.calls == 4


def test_no_reachable_target_is_model_not_ready_after_retries():
    with (
        RemoteInferenceClient([dead_address(), dead_address()], retry=FAST, timeout_s=5) as client,
        pytest.raises(ModelNotReady),
    ):
        client.infer(REQUEST)


def test_calls_are_spread_round_robin_over_the_targets(servers):
    first, second = serve(servers), serve(servers)
    with RemoteInferenceClient([first.address, second.address], retry=FAST) as client:
        for _ in range(6):
            client.infer(REQUEST)

    assert (first.servicer.calls, second.servicer.calls) == (3, 3)


def test_the_token_is_sent_as_bearer_authorization_metadata(servers):
    server = serve(servers)
    with RemoteInferenceClient([server.address], token="s3cret", retry=FAST) as client:
        client.infer(REQUEST)

    assert server.servicer.metadata[0]["authorization"] == "Bearer s3cret"


def test_a_response_that_cannot_be_decoded_is_a_runtime_failure_not_bad_input(servers):
    server = serve(servers)
    server.servicer.malformed = True
    with (
        RemoteInferenceClient([server.address], retry=FAST) as client,
        pytest.raises(RuntimeFailure, match="malformed"),
    ):
        client.infer(REQUEST)


def test_a_call_past_its_timeout_is_deadline_exceeded(servers):
    server = serve(servers)
    server.servicer.hold = threading.Event()
    try:
        with (
            RemoteInferenceClient([server.address], retry=RetryPolicy(retries=0)) as client,
            pytest.raises(DeadlineExceeded),
        ):
            client.infer(REQUEST, timeout_s=0.05)
    finally:
        server.servicer.hold.set()


def test_a_request_whose_deadline_has_passed_is_not_sent(servers):
    server = serve(servers)
    late = InferRequest("m", REQUEST.inputs, deadline=time.monotonic() - 1)
    with RemoteInferenceClient([server.address], retry=FAST) as client, pytest.raises(DeadlineExceeded):
        client.infer(late)

    assert server.servicer.calls == 0


def test_client_certificate_without_key_is_refused():
    with pytest.raises(ValueError, match="client_cert and client_key"):
        TlsOptions(client_cert=Path("cert.pem")).credentials()


def test_unreadable_tls_file_names_the_option(tmp_path):
    with pytest.raises(ValueError, match="TLS root_ca: cannot read"):
        TlsOptions(root_ca=tmp_path / "missing.pem").credentials()


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throw-away CA, a server certificate for ``gateway.test`` and a client certificate."""
    root = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=test-ca",
        cwd=root,
    )
    for name, ext in (
        ("server", "subjectAltName=DNS:gateway.test"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        (root / f"{name}.ext").write_text(ext + "\n")
        _openssl(
            "req",
            "-new",
            *ec,
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN={name}",
            cwd=root,
        )
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "1", "-extfile", f"{name}.ext", cwd=root,
        )  # fmt: skip
    return root


def test_mutual_tls_with_a_server_name_override_connects(servers, pki):
    credentials = grpc.ssl_server_credentials(
        [((pki / "server.key").read_bytes(), (pki / "server.pem").read_bytes())],
        root_certificates=(pki / "ca.pem").read_bytes(),
        require_client_auth=True,
    )
    server = serve(servers, credentials=credentials)
    tls = TlsOptions(
        root_ca=pki / "ca.pem",
        client_cert=pki / "client.pem",
        client_key=pki / "client.key",
        server_name="gateway.test",
    )
    with RemoteInferenceClient([server.address], tls=tls, retry=FAST) as client:
        response = client.infer(REQUEST)

    np.testing.assert_array_equal(response.outputs[0].data, [2.0, 3.0])


def test_tls_without_the_client_certificate_the_server_requires_fails_as_unavailable(servers, pki):
    credentials = grpc.ssl_server_credentials(
        [((pki / "server.key").read_bytes(), (pki / "server.pem").read_bytes())],
        root_certificates=(pki / "ca.pem").read_bytes(),
        require_client_auth=True,
    )
    server = serve(servers, credentials=credentials)
    tls = TlsOptions(root_ca=pki / "ca.pem", server_name="gateway.test")
    with (
        RemoteInferenceClient([server.address], tls=tls, retry=RetryPolicy(retries=0), timeout_s=5) as client,
        pytest.raises(ModelNotReady),
    ):
        client.infer(REQUEST)
