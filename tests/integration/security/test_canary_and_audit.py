"""T16 over gRPC: 1,000 requests carrying canary personal data leave no trace of it in any log line or in the
audit log, and the audit log holds exactly one verifiable event per request (RELIABILITY.md T16)."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import tritonclient.grpc as triton

from tests.integration.security.conftest import (
    CANARY_EMAIL,
    CANARY_SSN,
    DEFAULT_CLIENTS,
    ERP_TOKEN,
    Pki,
    write_tokens,
)
from tests.support.gateway_process import gateway_process
from tests.support.triton_calls import inputs_for

REQUESTS = 1_000
DENIED_EVERY = 20  # every 20th request asks for a model the client may not use
INVALID_EVERY = 25  # every 25th sends the canary to a numeric model (INVALID_ARGUMENT)


def _payload(index: int) -> np.ndarray:
    record = json.dumps({"national_id": CANARY_SSN, "email": CANARY_EMAIL, "n": index})
    return np.array([[record.encode()], [CANARY_SSN.encode()]], dtype=np.object_)


def _one(client: triton.InferenceServerClient, index: int) -> str:
    headers = {"authorization": f"Bearer {ERP_TOKEN}"}
    data = _payload(index)
    if index % DENIED_EVERY == 0:
        model, inputs = "scratch", inputs_for(X=data)
    elif index % INVALID_EVERY == 0:
        model, inputs = "add_sub", inputs_for(INPUT0=data, INPUT1=data)
    else:
        model, inputs = "identity_bytes", inputs_for(X=data)
    try:
        result = client.infer(model, inputs, request_id=f"t16-{index}", headers=headers)
    except triton.InferenceServerException as exc:
        return str(exc.status()).removeprefix("StatusCode.")
    assert result.as_numpy("Y")[1, 0] == CANARY_SSN.encode()
    return "OK"


def test_t16_canary_personal_data_never_reaches_a_log_and_every_request_is_audited(
    zoo_dir: Path, pki: Pki, tmp_path: Path
) -> None:
    tokens = write_tokens(tmp_path / "tokens.yaml", DEFAULT_CLIENTS)
    audit = tmp_path / "audit.jsonl"
    config = tmp_path / "gateway.yaml"
    config.write_text("logging: {mask: [national_id, email]}\n", encoding="utf-8")
    args = ["--config", str(config), "--tls-cert", str(pki.server.cert), "--tls-key", str(pki.server.key)]
    args += ["--tokens", str(tokens), "--audit-log", str(audit), "--log-level", "DEBUG"]

    with gateway_process(zoo_dir, args) as gateway:
        address = f"localhost:{gateway.port}"
        with triton.InferenceServerClient(address, ssl=True, root_certificates=str(pki.ca.cert)) as client:
            with ThreadPoolExecutor(max_workers=4) as pool:
                outcomes = list(pool.map(lambda i: _one(client, i), range(REQUESTS)))
    # The process has stopped: its logs are complete and the audit writer has flushed.

    assert outcomes.count("PERMISSION_DENIED") == REQUESTS // DENIED_EVERY
    assert set(outcomes) == {"OK", "PERMISSION_DENIED", "INVALID_ARGUMENT"}
    log_text = "\n".join(json.dumps(line) for line in gateway.log_lines)
    assert len(gateway.log_lines) > REQUESTS  # DEBUG: at least one access-log line per call was searched
    audit_text = audit.read_text(encoding="utf-8")
    for canary in (CANARY_SSN, CANARY_EMAIL, CANARY_EMAIL.split("@")[0]):
        assert log_text.count(canary) == 0, canary
        assert audit_text.count(canary) == 0, canary

    events = [json.loads(line) for line in audit_text.splitlines()]
    ours = [e for e in events if str(e["request_id"]).startswith("t16-")]
    assert len(ours) == REQUESTS == len({e["request_id"] for e in ours})
    for event in ours:
        assert event["who"] == "token:erp-nightly" and event["time"].endswith("Z")
        if event["outcome"] == "OK":
            assert event["model_version"] == "1" and len(event["model_sha256"]) == 64
            assert len(event["input_ref"]["inputs_sha256"]) == 64
    verify = subprocess.run(
        [
            sys.executable,
            "-c",
            "from adapters.cli import main; main(prog_name='bridgeway')",
            "audit",
            "verify",
            str(audit),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0, verify.stderr
    assert f"{len(events)} event(s)" in verify.stdout
