"""Mutual TLS on a real gateway: only certificates of the configured CA get in; the subject is the caller."""

from __future__ import annotations

import json
import time

import numpy as np
import tritonclient.grpc as triton

from adapters.client.remote import RemoteInferenceClient, TlsOptions
from gateway.types import InferRequest, Tensor
from tests.integration.security.conftest import Issued, Pki, SecuredGateway
from tests.support.triton_calls import failure, inputs_for

ADD = {"INPUT0": np.ones((1, 4), np.float32), "INPUT1": np.ones((1, 4), np.float32)}


def _client(gateway: SecuredGateway, pki: Pki, cert: Issued | None) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(
        gateway.address,
        ssl=True,
        root_certificates=str(pki.ca.cert),
        private_key=str(cert.key) if cert else None,
        certificate_chain=str(cert.cert) if cert else None,
    )


def test_a_client_certificate_from_the_ca_is_served_and_audited_under_its_subject(
    mtls_gateway: SecuredGateway, pki: Pki
) -> None:
    with _client(mtls_gateway, pki, pki.client) as client:
        client.infer("add_sub", inputs_for(**ADD), request_id="mtls-1")
    deadline = time.monotonic() + 5
    while True:
        text = mtls_gateway.audit_log.read_text(encoding="utf-8") if mtls_gateway.audit_log.exists() else ""
        events = [json.loads(line) for line in text.splitlines() if '"mtls-1"' in line]
        if events or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(events) == 1
    assert events[0]["who"].startswith("cert:") and "CN=erp-batch" in events[0]["who"]


def test_no_client_certificate_fails_the_handshake(mtls_gateway: SecuredGateway, pki: Pki) -> None:
    with _client(mtls_gateway, pki, None) as client:
        code, _ = failure(lambda: client.infer("add_sub", inputs_for(**ADD), client_timeout=5))
    assert code == "UNAVAILABLE"


def test_a_certificate_from_another_ca_fails_the_handshake(mtls_gateway: SecuredGateway, pki: Pki) -> None:
    with _client(mtls_gateway, pki, pki.stranger) as client:
        code, _ = failure(lambda: client.infer("add_sub", inputs_for(**ADD), client_timeout=5))
    assert code == "UNAVAILABLE"


def test_the_adapters_remote_client_speaks_mutual_tls(mtls_gateway: SecuredGateway, pki: Pki) -> None:
    tls = TlsOptions(root_ca=pki.ca.cert, client_cert=pki.client.cert, client_key=pki.client.key)
    request = InferRequest("add_sub", [Tensor(k, "FP32", v) for k, v in ADD.items()])
    with RemoteInferenceClient([mtls_gateway.address], tls=tls) as client:
        response = client.infer(request)
    np.testing.assert_array_equal(response.outputs[0].data, np.full((1, 4), 2, np.float32))
