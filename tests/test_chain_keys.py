"""Where the audit and custody chain keys come from, and the keys refused."""

from __future__ import annotations

import stat

import pytest

from shared.bootstrap import Container
from shared.settings import Settings


def test_the_azure_backend_needs_chain_keys_from_settings(tmp_path):
    with pytest.raises(ValueError, match="VIGIL_AUDIT_CHAIN_KEYS is required"):
        _ = Container(Settings(backend="azure", data_dir=tmp_path)).chain_keys
    keys = Container(Settings(backend="azure", data_dir=tmp_path, audit_chain_keys={"k1": "x" * 32}, audit_chain_key_id="k1")).chain_keys
    assert keys.current == "k1"
    assert not (tmp_path / "keys").exists()  # never a key file on azure


@pytest.mark.parametrize(
    "keys,key_id,reason",
    [
        ({"k1": "x" * 32}, "", "VIGIL_AUDIT_CHAIN_KEY_ID must name"),
        ({"k1": "x" * 32}, "k2", "not among the keys"),
        ({"k1": "short"}, "k1", "at least 32 bytes"),
    ],
)
def test_bad_chain_key_settings_are_refused(tmp_path, keys, key_id, reason):
    with pytest.raises(ValueError, match=reason):
        _ = Container(Settings(data_dir=tmp_path, audit_chain_keys=keys, audit_chain_key_id=key_id)).chain_keys


def test_the_local_key_is_made_once_outside_the_records_store(tmp_path):
    first = Container(Settings(data_dir=tmp_path)).chain_keys
    path = tmp_path / "keys" / "audit-chain-keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Container(Settings(data_dir=tmp_path)).chain_keys
    assert first.current == again.current == "local-1"
    assert first.mac("local-1", b"x") == again.mac("local-1", b"x")
