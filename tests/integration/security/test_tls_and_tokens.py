"""TLS and bearer tokens on a real gateway: who gets in, who is refused, and how (DESIGN.md "Security")."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import grpc
import numpy as np
import pytest
import tritonclient.grpc as triton
from grpc_health.v1 import health_pb2, health_pb2_grpc

from adapters.client.remote import RemoteInferenceClient, TlsOptions
from gateway.errors import PermissionDenied, Unauthenticated
from gateway.types import InferRequest, Tensor
from protos import pb, pb_grpc
from tests.integration.security.conftest import (
    DEFAULT_CLIENTS,
    ERP_TOKEN,
    OPS_TOKEN,
    Pki,
    SecuredGateway,
    write_tokens,
)
from tests.support.triton_calls import failure, inputs_for

ADD = {"INPUT0": np.ones((1, 4), np.float32), "INPUT1": np.ones((1, 4), np.float32)}


def _client(gateway: SecuredGateway, pki: Pki) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(gateway.address, ssl=True, root_certificates=str(pki.ca.cert))


def _infer(
    gateway: SecuredGateway, pki: Pki, token: str | None, model: str = "add_sub"
) -> Callable[[], object]:
    headers = {"authorization": f"Bearer {token}"} if token is not None else None

    def call() -> object:
        with _client(gateway, pki) as client:
            arrays = ADD if model == "add_sub" else {"X": np.ones((1, 2), np.float32)}
            return client.infer(model, inputs_for(**arrays), headers=headers)

    return call


def test_a_valid_token_over_tls_is_served_by_stock_tritonclient(
    tls_gateway: SecuredGateway, pki: Pki
) -> None:
    result = _infer(tls_gateway, pki, ERP_TOKEN)()
    np.testing.assert_array_equal(result.as_numpy("OUTPUT0"), np.full((1, 4), 2, np.float32))  # type: ignore[attr-defined]


@pytest.mark.parametrize("token", [None, "not-a-known-token", ""])
def test_a_missing_or_unknown_token_is_unauthenticated(
    tls_gateway: SecuredGateway, pki: Pki, token: str | None
) -> None:
    code, message = failure(_infer(tls_gateway, pki, token))
    assert code == "UNAUTHENTICATED"
    assert ERP_TOKEN not in message


def test_a_model_outside_the_clients_list_is_permission_denied(tls_gateway: SecuredGateway, pki: Pki) -> None:
    code, message = failure(_infer(tls_gateway, pki, ERP_TOKEN, model="scratch"))
    assert (code, "scratch" in message) == ("PERMISSION_DENIED", True)
    with _client(tls_gateway, pki) as client:
        headers = {"authorization": f"Bearer {ERP_TOKEN}"}
        code, _ = failure(lambda: client.get_model_metadata("scratch", headers=headers))
        assert code == "PERMISSION_DENIED"
        code, _ = failure(lambda: client.unload_model("add_sub", headers=headers))
        assert code == "PERMISSION_DENIED"


def test_a_streamed_request_for_a_forbidden_model_gets_an_error_reply_and_the_stream_goes_on(
    tls_gateway: SecuredGateway, pki: Pki
) -> None:
    replies: list[tuple[object, object]] = []
    with _client(tls_gateway, pki) as client:
        client.start_stream(
            callback=lambda result, error: replies.append((result, error)),
            headers={"authorization": f"Bearer {ERP_TOKEN}"},
        )
        client.async_stream_infer("scratch", inputs_for(X=np.ones((1, 2), np.float32)), request_id="denied")
        client.async_stream_infer("add_sub", inputs_for(**ADD), request_id="allowed")
        deadline = time.monotonic() + 10
        while len(replies) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        client.stop_stream()
    errors = [str(error) for _, error in replies if error is not None]
    results = [result for result, error in replies if error is None]
    assert len(errors) == 1 and "may not use model 'scratch'" in errors[0]
    assert len(results) == 1


def test_a_plaintext_client_cannot_talk_to_the_tls_port(tls_gateway: SecuredGateway) -> None:
    with triton.InferenceServerClient(f"127.0.0.1:{tls_gateway.process.port}") as client:
        code, _ = failure(lambda: client.is_server_live(client_timeout=5))
    assert code == "UNAVAILABLE"


def test_liveness_and_health_answer_without_a_token(tls_gateway: SecuredGateway, pki: Pki) -> None:
    with _client(tls_gateway, pki) as client:
        assert client.is_server_live() and client.is_server_ready()
    with grpc.insecure_channel(tls_gateway.health_address) as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        live = pb_grpc.GRPCInferenceServiceStub(channel).ServerLive(pb.ServerLiveRequest(), timeout=5)
        assert live.live


def test_the_plaintext_health_port_serves_nothing_but_probes_even_with_a_valid_token(
    tls_gateway: SecuredGateway,
) -> None:
    with grpc.insecure_channel(tls_gateway.health_address) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.ModelMetadata(
                pb.ModelMetadataRequest(name="add_sub"),
                metadata=(("authorization", f"Bearer {OPS_TOKEN}"),),
                timeout=5,
            )
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]


def test_a_token_removed_from_the_file_is_refused_without_a_restart(
    tls_gateway: SecuredGateway, pki: Pki
) -> None:
    _infer(tls_gateway, pki, OPS_TOKEN)()
    write_tokens(tls_gateway.tokens, [c for c in DEFAULT_CLIENTS if c[0] != "ops"])
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                _infer(tls_gateway, pki, OPS_TOKEN)()
            except triton.InferenceServerException as exc:
                assert str(exc.status()).endswith("UNAUTHENTICATED")
                break
            assert time.monotonic() < deadline, "the revoked token was still accepted after 10 s"
            time.sleep(0.1)
        _infer(tls_gateway, pki, ERP_TOKEN)()  # the others keep working
    finally:
        write_tokens(tls_gateway.tokens, DEFAULT_CLIENTS)


def test_the_adapters_remote_client_speaks_tls_and_tokens(tls_gateway: SecuredGateway, pki: Pki) -> None:
    request = InferRequest("add_sub", [Tensor(k, "FP32", v) for k, v in ADD.items()], id="remote-1")
    tls = TlsOptions(root_ca=pki.ca.cert)
    with RemoteInferenceClient([tls_gateway.address], tls=tls, token=ERP_TOKEN) as client:
        response = client.infer(request)
        assert (response.id, response.model_version != "", len(response.model_sha256)) == (
            "remote-1",
            True,
            64,
        )
    with RemoteInferenceClient([tls_gateway.address], tls=tls, token="wrong") as client:
        with pytest.raises(Unauthenticated):
            client.infer(request)
    with RemoteInferenceClient([tls_gateway.address], tls=tls, token=ERP_TOKEN) as client:
        with pytest.raises(PermissionDenied):
            client.infer(InferRequest("scratch", [Tensor("X", "FP32", np.ones((1, 2), np.float32))]))


def test_the_audit_log_names_the_token_client_and_the_model_version(
    tls_gateway: SecuredGateway, pki: Pki
) -> None:
    _infer(tls_gateway, pki, ERP_TOKEN)()
    events = _audit_events(tls_gateway.audit_log)
    ours = [
        e
        for e in events
        if e["who"] == "token:erp-nightly" and e["model"] == "add_sub" and e["outcome"] == "OK"
    ]
    assert ours
    assert ours[-1]["model_version"] == "1" and len(ours[-1]["model_sha256"]) == 64
    assert any(e["outcome"] == "PERMISSION_DENIED" for e in events)


def _audit_events(path: Path, timeout_s: float = 5.0) -> list[dict[str, object]]:
    """The audit events written so far (the writer runs in the background: wait briefly for the file)."""
    import json

    deadline = time.monotonic() + timeout_s
    while not path.exists() or not path.read_text(encoding="utf-8").strip():
        assert time.monotonic() < deadline, f"no audit events in {path}"
        time.sleep(0.05)
    time.sleep(0.2)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
