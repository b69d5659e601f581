"""gateway.trust: security settings become port credentials, interceptors, guard and audit log, or a clear
error naming the option before anything is bound."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.auth import AuthInterceptor
from gateway.config import ServerSettings
from gateway.trust import GatewayTrust, TrustSetupError
from tests.support.certs import CertificateAuthority


def test_without_security_settings_nothing_is_added() -> None:
    trust = GatewayTrust.open(ServerSettings())
    assert (trust.credentials, trust.interceptors, trust.guard, trust.audit) == (None, [], None, None)


def test_tls_with_tokens_and_audit_adds_credentials_an_interceptor_a_guard_and_a_log(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path)
    server = ca.issue_server("server")
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text("clients: []\n", encoding="utf-8")
    settings = ServerSettings(
        tls_cert=server.cert, tls_key=server.key, tokens=tokens, audit_log=tmp_path / "audit" / "a.jsonl"
    )
    trust = GatewayTrust.open(settings)
    try:
        assert trust.credentials is not None
        assert [type(i) for i in trust.interceptors] == [AuthInterceptor]
        assert trust.guard is not None and trust.audit is not None
    finally:
        trust.close()


def test_an_audit_log_alone_audits_anonymous_callers(tmp_path: Path) -> None:
    trust = GatewayTrust.open(ServerSettings(audit_log=tmp_path / "a.jsonl"))
    try:
        assert trust.interceptors == [] and trust.guard is not None
    finally:
        trust.close()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"tokens": "absent.yaml"}, "--tokens: .*absent.yaml.*cannot read"),
        ({"tls_key": "key.pem"}, "--tls-cert is missing"),
        ({"tls_cert": "absent.pem", "tls_key": "absent-key.pem"}, "--tls-cert: cannot read"),
    ],
)
def test_unusable_settings_fail_naming_the_option(
    tmp_path: Path, settings: dict[str, str], message: str
) -> None:
    values = {key: tmp_path / value for key, value in settings.items()}
    with pytest.raises(TrustSetupError, match=message):
        GatewayTrust.open(ServerSettings.model_validate(values))
