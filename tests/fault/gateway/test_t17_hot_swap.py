"""T17: a model version switch while 2,000 requests are in flight (RELIABILITY.md).

Callers score breast-cancer continuously while version 2 is dropped into the repository and loaded with
RepositoryModelLoad. Every result names exactly one (model, version, sha256) that matches a file on disk,
each caller sees versions in non-decreasing order, and no result lacks lineage.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from pathlib import Path

import numpy as np
import tritonclient.grpc as triton

from tests.support.gateway_process import gateway_process
from tests.support.triton_calls import inputs_for

EXAMPLES = Path(__file__).resolve().parents[3] / "models"
MODEL = "breast-cancer"
TOTAL = 2_000
CALLERS = 8
SWAP_AFTER = TOTAL // 4


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_t17_every_result_names_one_version_and_versions_only_move_forward(tmp_path: Path) -> None:
    repo = tmp_path / "models"
    (repo / MODEL).mkdir(parents=True)
    shutil.copy(EXAMPLES / MODEL / "model.yaml", repo / MODEL / "model.yaml")
    shutil.copytree(EXAMPLES / MODEL / "1", repo / MODEL / "1")
    expected = {v: _sha256(EXAMPLES / MODEL / v / "model.onnx") for v in ("1", "2")}
    assert expected["1"] != expected["2"]

    results: dict[int, list[tuple[str, str, str]]] = {c: [] for c in range(CALLERS)}
    failures: list[Exception] = []
    done = threading.Semaphore(0)
    swapped = threading.Event()

    with gateway_process(repo) as gateway:
        features = np.random.default_rng(7).random((1, 30), dtype=np.float32)

        def caller(index: int) -> None:
            with triton.InferenceServerClient(gateway.address) as client:
                for _ in range(TOTAL // CALLERS):
                    try:
                        reply = client.infer(MODEL, inputs_for(features=features)).get_response(as_json=True)
                    except Exception as exc:  # every failure counts against the test
                        failures.append(exc)
                        continue
                    sha = reply.get("parameters", {}).get("model_sha256", {}).get("string_param", "")
                    results[index].append((reply.get("model_name", ""), reply.get("model_version", ""), sha))
                    done.release()

        threads = [threading.Thread(target=caller, args=(i,)) for i in range(CALLERS)]
        for thread in threads:
            thread.start()
        for _ in range(SWAP_AFTER):
            done.acquire(timeout=60)
        shutil.copytree(EXAMPLES / MODEL / "2", repo / MODEL / "2")
        with triton.InferenceServerClient(gateway.address) as admin:
            admin.load_model(MODEL)
        swapped.set()
        for thread in threads:
            thread.join(timeout=300)

    assert not failures, failures[:3]
    lineage = [item for per_caller in results.values() for item in per_caller]
    assert len(lineage) == TOTAL
    assert all(
        name == MODEL and version in expected and sha == expected[version] for name, version, sha in lineage
    )
    for per_caller in results.values():
        versions = [int(version) for _, version, _ in per_caller]
        assert versions == sorted(versions), "a caller saw an older version after a newer one"
    seen = {version for _, version, _ in lineage}
    assert seen == {"1", "2"}, "the swap happened mid-stream, so both versions must have answered"
