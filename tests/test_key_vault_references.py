"""A Key Vault reference App Service has not resolved arrives as its own text: every
setting holding one counts as not configured, the app still starts, readiness names it,
and the templates order the app settings after the roles that let them resolve."""

from __future__ import annotations

import pytest

from shared.bootstrap import Container
from shared.settings import Settings, is_unresolved_key_vault_reference
from tests.fixtures_http import close_stamp, make_stamp
from tools import infra_check as ic

REFERENCE = "@Microsoft.KeyVault(VaultName=kv-abc;SecretName=sendgrid-api-key)"


def _default(field: str):
    info = Settings.model_fields[field]
    return info.default_factory() if info.default_factory else info.default  # type: ignore[call-arg,misc]


@pytest.mark.parametrize("field", sorted(ic.secret_fields()))
def test_every_secret_setting_still_holding_a_reference_counts_as_not_configured(field, monkeypatch, tmp_path):
    env = f"VIGIL_{field.upper()}"
    monkeypatch.setenv(env, REFERENCE.replace("sendgrid-api-key", field.replace("_", "-")))
    settings = Settings(data_dir=tmp_path)
    value = getattr(settings, field)
    shown = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    expected = _default(field)
    assert shown == (expected.get_secret_value() if hasattr(expected, "get_secret_value") else expected)
    assert settings.unresolved_key_vault_references == (env,)


def test_a_resolved_secret_is_taken_as_is(monkeypatch):
    monkeypatch.setenv("VIGIL_SENDGRID_API_KEY", "SG.real-key")
    monkeypatch.setenv("VIGIL_AUDIT_CHAIN_KEYS", '{"k1": "' + "s" * 40 + '"}')
    settings = Settings()
    assert settings.sendgrid_api_key == "SG.real-key"
    assert settings.audit_chain_keys["k1"].get_secret_value() == "s" * 40
    assert settings.unresolved_key_vault_references == ()


def test_a_json_setting_holding_a_reference_does_not_stop_the_app_from_starting(monkeypatch):
    """audit_chain_keys is JSON: its reference text used to fail to decode at start-up."""
    monkeypatch.setenv("VIGIL_AUDIT_CHAIN_KEYS", "@Microsoft.KeyVault(VaultName=kv-abc;SecretName=audit-chain-keys)")
    settings = Settings()
    assert settings.audit_chain_keys == {}
    assert settings.unresolved_key_vault_references == ("VIGIL_AUDIT_CHAIN_KEYS",)


@pytest.mark.parametrize(
    ("value", "unresolved"),
    [
        (REFERENCE, True),
        ("  @microsoft.keyvault(SecretUri=https://kv-abc.vault.azure.net/secrets/x/)", True),
        ("SG.a-key-mentioning-@Microsoft.KeyVault(", False),
        ("", False),
        (None, False),
        ({"k1": REFERENCE}, False),
    ],
)
def test_what_counts_as_an_unresolved_reference(value, unresolved):
    assert is_unresolved_key_vault_reference(value) is unresolved


def test_sendgrid_with_an_unresolved_key_is_not_ready_and_never_sends_the_reference(tmp_path):
    container = Container(Settings(data_dir=tmp_path, backend="local", mail_provider="sendgrid", sendgrid_api_key=REFERENCE))
    try:
        assert container.mail.ready() == (False, "SendGrid API key is not configured")
    finally:
        container.close()


def test_readiness_says_which_setting_is_unresolved(tmp_path):
    stamp = make_stamp(tmp_path, page_token_key="@Microsoft.KeyVault(VaultName=kv-abc;SecretName=page-token-key)")
    try:
        answer = stamp.client.get("/api/v1/healthz")
        assert answer.status_code == 503
        body = answer.json()
        assert body["status"] == "degraded"
        assert body["checks"]["key_vault_references"] == "not resolved: VIGIL_PAGE_TOKEN_KEY"
    finally:
        close_stamp(stamp)
    resolved = make_stamp(tmp_path / "resolved")
    try:
        assert resolved.client.get("/api/v1/healthz").json()["checks"]["key_vault_references"] == "ok"
    finally:
        close_stamp(resolved)


def test_app_settings_are_applied_after_the_role_assignments_that_resolve_them():
    main = ic.parse(ic.MAIN)
    assert main["modules"]["api"]["config"]["dependsOn"] == ["rbac"]
    # The roles the references need are in that module: Key Vault Secrets User on the vault.
    secrets_user = "4633458b-17de-408a-b874-0445c86b69e6"
    assert any(
        a.role_id == secrets_user and a.scope == "keyVault" and a.principal == "principalId"
        for a in ic._role_assignments(ic.APP / "rbac.bicep")
    )
    # And the secrets among the app settings are such references.
    settings = ic.variables(ic.MAIN)["vigilSettings"]
    assert settings["VIGIL_SENDGRID_API_KEY"] == "${kvRef}sendgrid-api-key)"
