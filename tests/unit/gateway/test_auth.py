"""gateway.auth: the tokens file, its reloading, and the interceptor in front of a real grpc.aio gateway."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.auth import AuthInterceptor, Caller, TokenBook, token_sha256
from gateway.config import ConfigError, ServerSettings
from gateway.errors import PermissionDenied
from gateway.server import running_gateway
from protos import pb, pb_grpc
from tests.support.onnx_zoo import build_repository

ERP_TOKEN = "erp-secret-token"
ADMIN_TOKEN = "admin-secret-token"


def _tokens_file(path: Path, clients: Sequence[tuple[str, str, list[str]]], admin: str = "") -> Path:
    lines = ["clients:"]
    for name, token, models in clients:
        lines += [f"  - name: {name}", f"    token_sha256: {token_sha256(token)}", f"    models: {models}"]
        if name == admin:
            lines.append("    admin: true")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_token_digest_is_the_hex_sha256_the_design_shows() -> None:
    assert token_sha256("test") == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def test_a_token_book_finds_the_client_of_a_token_and_nobody_for_others(tmp_path: Path) -> None:
    book = TokenBook(_tokens_file(tmp_path / "t.yaml", [("erp", ERP_TOKEN, ["add_sub"])]))
    entry = book.by_token(ERP_TOKEN)
    assert entry is not None and entry.name == "erp" and entry.models == ("add_sub",)
    assert book.by_token("erp-secret-tokeN") is None
    assert book.by_token("") is None


def test_a_tokens_file_holding_a_plain_token_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("clients:\n  - {name: erp, token_sha256: hunter2, models: ['*']}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"clients\.0\.token_sha256.*never the token"):
        TokenBook(path)


def test_a_tokens_file_may_not_give_one_token_to_two_clients(tmp_path: Path) -> None:
    path = _tokens_file(tmp_path / "t.yaml", [("a", ERP_TOKEN, ["*"]), ("b", ERP_TOKEN, ["*"])])
    with pytest.raises(ConfigError, match="token_sha256 repeated"):
        TokenBook(path)


def test_a_changed_tokens_file_is_picked_up_without_a_restart(tmp_path: Path) -> None:
    path = _tokens_file(tmp_path / "t.yaml", [("erp", ERP_TOKEN, ["*"])])
    book = TokenBook(path, check_interval_s=0)
    assert book.by_token(ERP_TOKEN) is not None
    _tokens_file(path, [("other", "another-token", ["*"])])
    assert book.by_token(ERP_TOKEN) is None
    assert book.by_token("another-token") is not None


def test_a_broken_new_tokens_file_keeps_the_previous_clients_and_logs_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _tokens_file(tmp_path / "t.yaml", [("erp", ERP_TOKEN, ["*"])])
    book = TokenBook(path, check_interval_s=0)
    path.write_text("clients: [ {name: erp, token_sha256: ", encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="gateway.auth"):
        assert book.by_token(ERP_TOKEN) is not None
        assert book.by_token(ERP_TOKEN) is not None
    assert len([r for r in caplog.records if "not reloaded" in r.getMessage()]) == 1
    os.remove(path)
    assert book.by_token(ERP_TOKEN) is not None


def test_a_caller_with_a_model_list_may_use_only_those_models() -> None:
    caller = Caller("token:erp", frozenset({"add_sub"}), admin=False)
    caller.authorize("add_sub")
    with pytest.raises(PermissionDenied, match="may not use model 'scalar'"):
        caller.authorize("scalar")
    with pytest.raises(PermissionDenied, match="every model"):
        caller.authorize("")
    Caller("token:all").authorize("")


# --- through a real gateway -----------------------------------------------------------------------------


def _codes(tmp_path: Path, calls: dict[str, tuple[str, object, str | None]]) -> dict[str, str]:
    """Run each named (method, request, token) against a gateway guarded by a tokens file; status names."""
    tokens = _tokens_file(
        tmp_path / "tokens.yaml",
        [("erp", ERP_TOKEN, ["add_sub"]), ("ops", ADMIN_TOKEN, ["*"])],
        admin="ops",
    )
    interceptor = AuthInterceptor(TokenBook(tokens, check_interval_s=0), mutual_tls=False)
    settings = ServerSettings(models_dir=build_repository(tmp_path / "zoo"), port=0, metrics_port=0)

    async def scenario() -> dict[str, str]:
        results = {}
        async with running_gateway(settings, interceptors=[interceptor]) as gateway:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
                stub = pb_grpc.GRPCInferenceServiceStub(channel)
                health = health_pb2_grpc.HealthStub(channel)
                for label, (method, request, token) in calls.items():
                    rpc = getattr(health if method == "Check" else stub, method)
                    metadata = (("authorization", f"Bearer {token}"),) if token is not None else ()
                    try:
                        await rpc(request, metadata=metadata, timeout=10)
                        results[label] = "OK"
                    except grpc.aio.AioRpcError as exc:
                        results[label] = exc.code().name
        return results

    return asyncio.run(scenario())


def test_the_interceptor_refuses_missing_and_unknown_tokens_and_models_outside_the_list(
    tmp_path: Path,
) -> None:
    metadata = pb.ModelMetadataRequest(name="add_sub")
    codes = _codes(
        tmp_path,
        {
            "no token": ("ModelMetadata", metadata, None),
            "wrong token": ("ModelMetadata", metadata, "nope"),
            "empty bearer": ("ModelMetadata", metadata, ""),
            "valid token": ("ModelMetadata", metadata, ERP_TOKEN),
            "other model": ("ModelMetadata", pb.ModelMetadataRequest(name="scalar"), ERP_TOKEN),
            "all statistics": ("ModelStatistics", pb.ModelStatisticsRequest(), ERP_TOKEN),
            "load without admin": (
                "RepositoryModelLoad",
                pb.RepositoryModelLoadRequest(model_name="add_sub"),
                ERP_TOKEN,
            ),
            "load as admin": (
                "RepositoryModelLoad",
                pb.RepositoryModelLoadRequest(model_name="add_sub"),
                ADMIN_TOKEN,
            ),
            "index": ("RepositoryIndex", pb.RepositoryIndexRequest(), ERP_TOKEN),
        },
    )
    assert codes == {
        "no token": "UNAUTHENTICATED",
        "wrong token": "UNAUTHENTICATED",
        "empty bearer": "UNAUTHENTICATED",
        "valid token": "OK",
        "other model": "PERMISSION_DENIED",
        "all statistics": "PERMISSION_DENIED",
        "load without admin": "PERMISSION_DENIED",
        "load as admin": "OK",
        "index": "OK",
    }


def test_liveness_readiness_and_health_answer_without_a_token(tmp_path: Path) -> None:
    codes = _codes(
        tmp_path,
        {
            "live": ("ServerLive", pb.ServerLiveRequest(), None),
            "ready": ("ServerReady", pb.ServerReadyRequest(), None),
            "health": ("Check", health_pb2.HealthCheckRequest(), None),
            "server metadata": ("ServerMetadata", pb.ServerMetadataRequest(), None),
        },
    )
    assert codes == {"live": "OK", "ready": "OK", "health": "OK", "server metadata": "UNAUTHENTICATED"}
