"""Who is calling, and may they use this model: bearer tokens from a file, mTLS subjects, one interceptor.

The tokens file (YAML) lists clients; it holds the SHA-256 of each token, never the token itself::

    clients:
      - name: erp-nightly
        token_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
        models: [breast-cancer]          # or ["*"]
      - name: batch-cluster              # an mTLS client, known by its certificate subject
        subject: "O=Bank,CN=batch-cluster"
        models: ["*"]
        admin: true                      # may call RepositoryModelLoad / RepositoryModelUnload

Callers send ``authorization: Bearer <token>``. Rules, in order:

* ServerLive, ServerReady, ``grpc.health.v1`` and reflection stay open, so probes need no credentials.
* A bearer token must match a client (SHA-256 hex compared with ``hmac.compare_digest`` against every entry,
  so timing says nothing about near misses); otherwise UNAUTHENTICATED, whatever else the call carries.
* Without a token, a verified client certificate whose subject a client entry names identifies that client.
* Without a tokens file, a verified client certificate (mutual TLS) identifies its subject, with every model.
* Without a tokens file and without mutual TLS the server is open: the caller is ``anonymous``.

The interceptor resolves the caller into ``caller_var`` for the rest of the call and checks model
permission for calls whose request names one model. Inference calls (ModelInfer, ModelStreamInfer) are
checked per request by ``gateway.guard`` through ``current_caller().authorize(model)``, where the refusal is
also audited. The file is re-read when its size, mtime or inode changes (checked at most every
``check_interval_s``); a broken new file is logged and the previous clients stay in force.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import logging
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeAlias

import grpc
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.config import ConfigError, load_yaml_document
from gateway.errors import PermissionDenied

__all__ = [
    "ANONYMOUS",
    "OPEN_METHODS",
    "AuthInterceptor",
    "Caller",
    "ClientEntry",
    "TokenBook",
    "TokensFile",
    "caller_var",
    "current_caller",
    "token_sha256",
]

_log = logging.getLogger("gateway.auth")

_INFERENCE = "/inference.GRPCInferenceService/"

# Methods that answer without credentials: liveness/readiness and health for probes and balancers,
# reflection so tools can discover the service before they have a token.
OPEN_METHODS = frozenset(
    {
        _INFERENCE + "ServerLive",
        _INFERENCE + "ServerReady",
        "/grpc.health.v1.Health/Check",
        "/grpc.health.v1.Health/Watch",
        "/grpc.health.v1.Health/List",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    }
)

# Unary methods whose request names one model, and the field that names it. An empty name (statistics of
# every model) needs access to every model.
_MODEL_FIELD = {
    _INFERENCE + "ModelReady": "name",
    _INFERENCE + "ModelMetadata": "name",
    _INFERENCE + "ModelConfig": "name",
    _INFERENCE + "ModelStatistics": "name",
    _INFERENCE + "RepositoryModelLoad": "model_name",
    _INFERENCE + "RepositoryModelUnload": "model_name",
}
_ADMIN_METHODS = frozenset({_INFERENCE + "RepositoryModelLoad", _INFERENCE + "RepositoryModelUnload"})

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def token_sha256(token: str) -> str:
    """The hex SHA-256 of a token as the tokens file stores it (UTF-8 bytes, lowercase hex)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- the file -------------------------------------------------------------------------------------------


class ClientEntry(BaseModel):
    """One client of the tokens file: a token hash and/or a certificate subject, and its models."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1)]
    token_sha256: str | None = None
    subject: Annotated[str, Field(min_length=1)] | None = None
    models: Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Field(min_length=1)]
    admin: bool = False

    @field_validator("token_sha256")
    @classmethod
    def _hex_digest(cls, value: str | None) -> str | None:
        if value is None:
            return None
        digest = value.strip().lower()
        if not _HEX64.match(digest):
            raise ValueError("must be the 64-character hex SHA-256 of the token (never the token itself)")
        return digest

    @model_validator(mode="after")
    def _identified(self) -> ClientEntry:
        if self.token_sha256 is None and self.subject is None:
            raise ValueError(f"client '{self.name}' needs token_sha256 or subject")
        if "*" in self.models and len(self.models) > 1:
            raise ValueError(f"client '{self.name}': use either [\"*\"] or a list of model names")
        return self


class TokensFile(BaseModel):
    """The tokens file document: ``clients: [...]`` with unique names and token hashes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clients: tuple[ClientEntry, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> TokensFile:
        for label, values in (
            ("name", [c.name for c in self.clients]),
            ("token_sha256", [c.token_sha256 for c in self.clients if c.token_sha256]),
            ("subject", [c.subject for c in self.clients if c.subject]),
        ):
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                shown = [v[:8] + "…" for v in repeated] if label == "token_sha256" else repeated
                raise ValueError(f"clients: {label} repeated: {', '.join(shown)}")
        return self


# --- callers --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated (or anonymous) caller. ``models`` is ``None`` for every model.

    ``who`` is what audit events and logs name: ``token:<client>``, ``cert:<subject>``, both, or
    ``anonymous``.
    """

    who: str
    models: frozenset[str] | None = None
    admin: bool = True

    def may_use(self, model: str) -> bool:
        return self.models is None or model in self.models

    def authorize(self, model: str) -> None:
        """Raise PermissionDenied unless this caller may use ``model`` ("" means every model)."""
        if self.models is None or (model and model in self.models):
            return
        what = f"model '{model}'" if model else "every model"
        raise PermissionDenied(f"client '{self.who}' may not use {what}")


ANONYMOUS = Caller("anonymous")

# The caller of the call being served. grpc.aio runs the interceptors and the handler of one call in one
# context, so the interceptor's set reaches the servicer and gateway.guard.
caller_var: ContextVar[Caller] = ContextVar("bridgeway_caller", default=ANONYMOUS)


def current_caller() -> Caller:
    return caller_var.get()


def _caller_for(entry: ClientEntry, subject: str, by_token: bool) -> Caller:
    who = " ".join(([f"token:{entry.name}"] if by_token else []) + ([f"cert:{subject}"] if subject else []))
    models = None if entry.models == ("*",) else frozenset(entry.models)
    return Caller(who, models, entry.admin)


class TokenBook:
    """The clients of a tokens file, re-read when the file changes. Thread-safe; lookups never block on I/O
    longer than one ``stat`` every ``check_interval_s``.

    Raises ConfigError at construction if the file is missing or invalid: a server must not start with
    an authentication setting it cannot honour.
    """

    def __init__(self, path: Path, check_interval_s: float = 1.0) -> None:
        self.path = Path(path)
        self.check_interval_s = check_interval_s
        self._lock = threading.Lock()
        self._signature = self._stat()
        self._clients = self._read()
        self._checked = time.monotonic()
        self._rejected: tuple[int, int, int] | None = None

    @property
    def clients(self) -> tuple[ClientEntry, ...]:
        self._refresh()
        return self._clients

    def by_token(self, token: str) -> ClientEntry | None:
        """The client whose token this is, comparing digests in constant time against every entry."""
        presented = token_sha256(token)
        found = None
        for entry in self.clients:
            if entry.token_sha256 is not None and hmac.compare_digest(presented, entry.token_sha256):
                found = entry
        return found

    def by_subject(self, subject: str) -> ClientEntry | None:
        for entry in self.clients:
            if entry.subject is not None and entry.subject == subject:
                return entry
        return None

    def _stat(self) -> tuple[int, int, int]:
        try:
            st = os.stat(self.path)
        except OSError as exc:
            raise ConfigError(str(self.path), [f"cannot read: {exc.strerror or exc}"]) from exc
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _read(self) -> tuple[ClientEntry, ...]:
        return load_yaml_document(self.path, TokensFile).clients

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.check_interval_s or not self._lock.acquire(blocking=False):
            return  # not due yet, or another thread is checking and will publish the new clients
        try:
            self._checked = now
            self._reload_if_changed()
        finally:
            self._lock.release()

    def _reload_if_changed(self) -> None:
        """Swap in the file's clients if it changed; a broken file is logged once and the old ones stay."""
        try:
            signature = self._stat()
        except ConfigError as exc:
            signature = (-1, -1, -1)  # gone: report once, keep serving with the clients we have
            problem: ConfigError | None = exc
        else:
            if signature in (self._signature, self._rejected):
                return
            try:
                clients, problem = self._read(), None
            except ConfigError as exc:
                problem = exc
        if problem is not None:
            if signature != self._rejected:
                _log.error("tokens file not reloaded, the previous clients stay in force: %s", problem)
            self._rejected = signature
            return
        self._clients, self._signature, self._rejected = clients, signature, None
        _log.info("tokens file reloaded", extra={"clients": len(clients)})


# --- the interceptor ------------------------------------------------------------------------------------

_Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]]
_Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


def _bearer(metadata: Sequence[tuple[str, Any]] | None) -> str | None:
    """The token of an ``authorization: Bearer <token>`` header; "" for a malformed header; None if none."""
    for key, value in metadata or ():
        if key == "authorization":
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            scheme, _, token = text.strip().partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return None


def _subject(context: _Context) -> str:
    """The verified client certificate's subject ("" without one). gRPC only fills it after verification."""
    values = context.auth_context().get("x509_subject") or ()
    return values[0].decode("utf-8", "replace") if values else ""


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Authenticates every call except ``OPEN_METHODS`` and sets ``caller_var``; checks model permission
    for the unary calls that name a model.

    ``tokens``: the tokens file, or None. ``mutual_tls``: the server verifies client certificates, whose
    subject identifies a caller. ``require_tls``: refuse every call but the open ones when it did not come
    over TLS (the plaintext health port beside a TLS port).
    """

    def __init__(self, tokens: TokenBook | None, mutual_tls: bool, require_tls: bool = False) -> None:
        self._tokens = tokens
        self._mutual_tls = mutual_tls
        self._require_tls = require_tls

    async def intercept_service(
        self, continuation: _Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method in OPEN_METHODS:
            return handler
        token = _bearer(handler_call_details.invocation_metadata)
        return _guarded(handler, method, lambda context: self.identify(token, context))

    def identify(self, token: str | None, context: _Context) -> Caller | None:
        """The caller for this call's token and certificate, or None when it must be refused."""
        if self._require_tls and not _over_tls(context):
            return None
        subject = _subject(context) if self._mutual_tls else ""
        if self._tokens is None:
            if self._mutual_tls:
                return Caller(f"cert:{subject}") if subject else None
            return ANONYMOUS
        if token is not None:
            entry = self._tokens.by_token(token) if token else None
        else:
            entry = self._tokens.by_subject(subject) if subject else None
        return _caller_for(entry, subject, token is not None) if entry is not None else None


def _over_tls(context: _Context) -> bool:
    return bool(context.auth_context().get("transport_security_type") == [b"ssl"])


async def _admit(
    identify: Callable[[_Context], Caller | None], method: str, request: Any, context: _Context
) -> None:
    """Resolve the caller into ``caller_var``, or end the call with UNAUTHENTICATED / PERMISSION_DENIED."""
    caller = identify(context)
    if caller is None:
        _log.warning("call refused: no valid credentials", extra={"method": method, "peer": context.peer()})
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or unknown credentials")
        raise AssertionError("context.abort returned")  # pragma: no cover - abort always raises
    caller_var.set(caller)
    field = _MODEL_FIELD.get(method)
    try:
        if method in _ADMIN_METHODS and not caller.admin:
            raise PermissionDenied(f"client '{caller.who}' may not load or unload models")
        if field is not None:
            caller.authorize(getattr(request, field))
    except PermissionDenied as exc:
        _log.info("call refused: %s", exc, extra={"method": method})
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))


def _guarded(
    handler: grpc.RpcMethodHandler, method: str, identify: Callable[[_Context], Caller | None]
) -> grpc.RpcMethodHandler:
    """The same handler, admitting the caller before its behaviour runs."""
    kind = ("stream" if handler.request_streaming else "unary") + "_"
    kind += "stream" if handler.response_streaming else "unary"
    behavior = getattr(handler, kind)

    if handler.response_streaming and inspect.isasyncgenfunction(behavior):

        async def streaming(request: Any, context: _Context) -> AsyncIterator[Any]:
            await _admit(identify, method, None if handler.request_streaming else request, context)
            async for reply in behavior(request, context):
                yield reply

        wrapped: Callable[..., Any] = streaming
    else:

        async def single(request: Any, context: _Context) -> Any:
            await _admit(identify, method, None if handler.request_streaming else request, context)
            return await behavior(request, context)

        wrapped = single
    return handler._replace(**{kind: wrapped})
