"""The templates parse, modules are wired as a compile would demand, azd can deploy
(parameters: test_parameters.py), and the security-relevant properties are what the
design says. The Bicep CLI cannot be installed here: pycep-parser reads the files."""

from __future__ import annotations

import re

import pytest

from tools import infra_check as ic

BICEP_FILES = ic.bicep_files()


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(ic.INFRA)))
def test_bicep_file_parses(path):
    ic.parse(path)


def test_expected_modules_exist():
    names = {p.name for p in BICEP_FILES}
    for module in ("api", "data", "storage", "host-storage", "messaging", "keyvault", "monitoring", "rbac", "rbac-evidence", "network"):
        assert f"{module}.bicep" in names
    assert ic.parse(ic.MAIN)["globals"]["scope"]["value"] == "subscription"


def test_module_calls_match_the_modules():
    assert ic.wiring_problems() == []


def test_azure_yaml_deploys_the_repo_root_as_a_python_function_app():
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load((ic.ROOT / "azure.yaml").read_text())
    api = doc["services"]["api"]
    assert (api["project"], api["language"], api["host"]) == (".", "python", "function")
    assert doc["infra"]["path"] == "infra" and doc["infra"].get("module", "main") == "main"
    for shell in doc["hooks"]["preprovision"].values():
        assert (ic.ROOT / shell["run"]).exists(), shell["run"]
    # azd finds the app by this tag.
    assert "'azd-service-name': 'api'" in (ic.APP / "api.bicep").read_text()


# ---------------------------------------------------------------------------
# Security-relevant properties (checkov covers some; these are the design's own)
# ---------------------------------------------------------------------------


def _resource(path, symbol):
    config = ic.parse(path)["resources"][symbol]["config"]
    return config["config"] if "loop_type" in config or ("condition" in config and "config" in config) else config


def test_function_app_is_flex_consumption_python_311_on_the_identity():
    site = _resource(ic.APP / "api.bicep", "site")
    config = site["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["authentication"]["type"] == "UserAssignedIdentity"
    assert set(config["scaleAndConcurrency"]) >= {"maximumInstanceCount", "instanceMemoryMB"}
    assert site["identity"]["type"] == "UserAssigned"
    assert site["properties"]["httpsOnly"] is True
    assert site["properties"]["keyVaultReferenceIdentity"] == "identityId"
    plan = _resource(ic.APP / "api.bicep", "plan")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}


def test_storage_is_locked_down():
    for path, symbol in ((ic.APP / "storage.bicep", "evidence"), (ic.APP / "host-storage.bicep", "deployment")):
        props = _resource(path, symbol)["properties"]
        assert props["minimumTlsVersion"] == "TLS1_2"
        assert props["allowSharedKeyAccess"] is False
        assert props["allowBlobPublicAccess"] is False
        assert props["supportsHttpsTrafficOnly"] is True
    blobs = _resource(ic.APP / "storage.bicep", "evidenceBlobs")["properties"]
    assert blobs["isVersioningEnabled"] is True
    assert blobs["deleteRetentionPolicy"]["enabled"] is True
    assert blobs["containerDeleteRetentionPolicy"]["enabled"] is True


def test_staging_leftovers_are_deleted_after_a_day():
    from shared import names

    rules = _resource(ic.APP / "storage.bicep", "evidenceLifecycle")["properties"]["policy"]["rules"]
    staging = names.BLOB_CONTAINERS["evidence_staging"]
    rule = next(r for r in rules if f"{staging}/" in r["definition"]["filters"]["prefixMatch"])
    actions = rule["definition"]["actions"]
    assert actions["baseBlob"]["delete"]["daysAfterModificationGreaterThan"] == 1
    assert actions["version"]["delete"]["daysAfterCreationGreaterThan"] == 1
    # Never before a resumable upload session can have ended.
    from shared.settings import Settings

    session_hours = Settings.model_fields.get("evidence_upload_session_hours")
    if session_hours is not None:
        assert actions["baseBlob"]["delete"]["daysAfterModificationGreaterThan"] * 24 >= session_hours.default
    # Nothing else is touched by lifecycle rules: evidence lifetime is retention's call.
    # Shared court packages are no evidence: their old versions go (docs/evidence.md).
    prefixes = [p for r in rules for p in r["definition"]["filters"]["prefixMatch"]]
    packages = f"{names.BLOB_CONTAINERS['packages']}/"
    # Court packages built for a reader are served for a day, then go (docs/evidence.md).
    from shared.services.evidence.package_delivery import PACKAGE_HOURS, PREFIX

    built = f"{packages}{PREFIX}"
    assert prefixes == [f"{staging}/", built, packages]
    package_rule = next(r for r in rules if packages in r["definition"]["filters"]["prefixMatch"])
    assert list(package_rule["definition"]["actions"]) == ["version"]
    built_rule = next(r for r in rules if built in r["definition"]["filters"]["prefixMatch"])["definition"]["actions"]
    assert built_rule["baseBlob"]["delete"]["daysAfterModificationGreaterThan"] * 24 >= PACKAGE_HOURS
    assert built_rule["version"]["delete"]["daysAfterCreationGreaterThan"] == 1


def test_cosmos_is_regional_and_keyless():
    props = _resource(ic.APP / "data.bicep", "account")["properties"]
    assert props["disableLocalAuth"] is True
    assert props["disableKeyBasedMetadataWriteAccess"] is True
    assert [loc["locationName"] for loc in props["locations"]] == ["location"]
    assert props["enableMultipleWriteLocations"] is False


def test_service_bus_key_vault_and_monitoring_are_keyless():
    assert _resource(ic.APP / "messaging.bicep", "namespace")["properties"]["disableLocalAuth"] is True
    vault = _resource(ic.APP / "keyvault.bicep", "vault")["properties"]
    assert vault["enableRbacAuthorization"] is True
    assert vault["enablePurgeProtection"] is True
    assert _resource(ic.APP / "monitoring.bicep", "appInsights")["properties"]["DisableLocalAuth"] is True


def test_private_networking_is_one_switch():
    main = ic.parse(ic.MAIN)
    assert main["parameters"]["privateNetworking"]["type"] == "bool"
    assert main["parameters"]["privateNetworking"]["default"] is False
    for module in ("network", "endpoints"):
        assert main["modules"][module]["config"]["condition"] == "privateNetworking"
    # Every service with a public endpoint turns it off with the switch.
    for path in ("api.bicep", "storage.bicep", "host-storage.bicep", "data.bicep", "messaging.bicep", "keyvault.bicep"):
        text = (ic.APP / path).read_text()
        assert re.search(r"publicNetworkAccess: (privateNetworking \? 'Disabled' : 'Enabled'|publicAccess)", text), path
