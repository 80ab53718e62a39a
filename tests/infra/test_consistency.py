"""The code and the templates name the same things, both ways: settings, Cosmos
containers, queues, blob containers and timers. Everything on the code side is read
dynamically (shared.settings, shared.records, shared.names), so a new field, collection,
queue or timer fails here until infra/ and local.settings.sample.json have it.

Fix a failure with `.venv/bin/python tools/infra_check.py sync` (Cosmos containers and
the sample file), or by editing infra/main.bicep (app settings), infra/app/messaging.bicep
(queues) or infra/app/storage.bicep (blob containers)."""

from __future__ import annotations

import json
import re

import pytest

from shared import names
from tools import infra_check as ic

KV_REFERENCE = re.compile(r"^@Microsoft\.KeyVault\(VaultName=\$\{keyVaultName\};SecretName=[a-z0-9-]+\)$")
# A six-field NCRONTAB (seconds first), as the Functions host wants.
NCRONTAB = re.compile(r"^\S+( \S+){5}$")


@pytest.fixture(scope="module")
def deployed():
    """The app settings main.bicep gives the function app."""
    return ic.app_settings()


@pytest.fixture(scope="module")
def sample():
    text = ic.LOCAL_SETTINGS_SAMPLE.read_text(encoding="utf-8")
    return json.loads(text)  # strict JSON: a comment would fail here


def _vigil(keys):
    return {k for k in keys if k.startswith("VIGIL_")}


# ---- settings ----------------------------------------------------------------------


def test_every_setting_is_deployed_and_nothing_stale(deployed):
    code = set(ic.settings_env_names())
    missing = sorted(code - _vigil(deployed))
    stale = sorted(_vigil(deployed) - code)
    assert not missing, f"add to vigilSettings in infra/main.bicep: {missing}"
    assert not stale, f"remove from infra/main.bicep (no longer in shared/settings.py): {stale}"


def test_every_setting_is_in_the_local_sample_and_nothing_stale(sample):
    assert sample["IsEncrypted"] is False
    values = sample["Values"]
    code = set(ic.settings_env_names())
    missing = sorted(code - _vigil(values))
    stale = sorted(_vigil(values) - code)
    assert not missing and not stale, f"local.settings.sample.json lacks {missing}, has stale {stale}: run tools/infra_check.py sync"
    assert all(isinstance(v, str) for v in values.values()), "Functions settings are strings"
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert "AzureWebJobsStorage" in values


def test_sample_values_load_into_settings(sample, monkeypatch):
    from shared.settings import Settings

    for env in ic.settings_env_names():
        monkeypatch.setenv(env, sample["Values"][env])
    Settings()  # every example value parses (JSON for lists and dicts, true/false for bools)


def test_deployed_literal_values_load_into_settings(deployed, monkeypatch):
    from shared.settings import Settings

    references = ic.symbols(ic.MAIN)
    for env in ic.settings_env_names():
        value = deployed[env]
        # Values computed at deploy time (parameters, outputs, interpolations) are not checked here.
        if isinstance(value, str) and value not in references and "${" not in value and not value.startswith("@Microsoft.KeyVault"):
            monkeypatch.setenv(env, value)
    settings = Settings()
    assert settings.backend == "azure"


def test_deployed_values_differ_from_code_defaults_only_with_a_reason(deployed):
    """A literal in Bicep either repeats the code's default or says why it differs (a
    comment on its line or the line above), so a changed default never silently stays
    behind in Azure."""
    lines = ic.MAIN.read_text(encoding="utf-8").splitlines()
    references = ic.symbols(ic.MAIN)
    for env, field in ic.settings_env_names().items():
        value = deployed[env]
        if not isinstance(value, str) or value in references or "${" in value or value.startswith("@Microsoft.KeyVault"):
            continue
        if value == ic.setting_example(field):
            continue
        index = next(i for i, line in enumerate(lines) if re.match(rf"\s*{env}:", line))
        reasoned = "//" in lines[index] or lines[index - 1].strip().startswith("//")
        assert reasoned, f"{env} is {value!r} in infra/main.bicep but {ic.setting_example(field)!r} in the code: say why, or align"


def test_d2p_deliveries_match_the_dispatch_queue(deployed):
    """The D2P service reads its delivery count to know the last attempt; Service Bus
    dead-letters after maxDeliveryCount. They must be the same number."""
    envs = ic.settings_env_names()
    assert "VIGIL_D2P_MAX_DELIVERIES" in envs, "shared/settings.py no longer has d2p_max_deliveries"
    assert "d2p_dispatch" in names.QUEUES, "shared/names.py no longer has the d2p_dispatch queue"
    queue = next(q for q in ic.service_bus_queues() if q["name"] == names.QUEUES["d2p_dispatch"])
    assert deployed["VIGIL_D2P_MAX_DELIVERIES"] == str(queue["maxDeliveryCount"])


def test_webhook_deliveries_match_the_webhook_queue(deployed):
    """The alert service marks a delivery failed on its message's last delivery; Service
    Bus dead-letters after maxDeliveryCount. They must be the same number."""
    queue = next(q for q in ic.service_bus_queues() if q["name"] == names.QUEUES["webhook_deliveries"])
    assert deployed["VIGIL_WEBHOOK_QUEUE_MAX_DELIVERIES"] == str(queue["maxDeliveryCount"])


def test_secrets_come_from_key_vault(deployed):
    envs = {field: env for env, field in ic.settings_env_names().items()}
    for field in sorted(ic.secret_fields()):
        value = deployed[envs[field]]
        assert value == "" or (isinstance(value, str) and KV_REFERENCE.match(value)), (
            f"{envs[field]} must be a Key Vault reference ('${{kvRef}}<secret-name>)') or empty, not a value"
        )


def test_key_vault_references_name_the_stamp_vault():
    main = ic.parse(ic.MAIN)
    assert KV_REFERENCE.match(ic.interpolate("${kvRef}sendgrid-api-key)", main))
    assert ic._module_body(main["modules"]["keyvault"])["params"]["name"] == "keyVaultName"


def test_no_keys_or_connection_strings_in_app_settings(deployed):
    assert "FUNCTIONS_WORKER_RUNTIME" not in deployed, "Flex Consumption takes the runtime from functionAppConfig"
    assert "AzureWebJobsStorage" not in deployed, "host storage is reached with the identity (AzureWebJobsStorage__*)"
    for key, value in deployed.items():
        text = json.dumps(value)
        assert not re.search(r"AccountKey=|SharedAccessKey|Password=", text, re.I), key
    assert deployed["AzureWebJobsStorage__credential"] == "managedidentity"
    assert deployed[f"{names.SERVICE_BUS_CONNECTION}__credential"] == "managedidentity"
    assert f"{names.SERVICE_BUS_CONNECTION}__fullyQualifiedNamespace" in deployed
    assert "AZURE_CLIENT_ID" in deployed, "DefaultAzureCredential needs it for a user-assigned identity"
    assert "Authorization=AAD" in deployed["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
    assert deployed["VIGIL_BACKEND"] == "azure"


# ---- Cosmos containers -------------------------------------------------------------


def test_data_bicep_deploys_the_generated_containers():
    value = ic.parse(ic.APP / "data.bicep")["variables"]["containers"]["value"]
    assert value["function"]["type"] == "load_json_content"
    assert ic.APP / value["function"]["parameters"]["file_path"] == ic.COSMOS_CONTAINERS_JSON
    loop = ic.parse(ic.APP / "data.bicep")["resources"]["container"]["config"]
    assert loop["loop_type"]["detail"]["array_name"] == "containers"
    assert loop["config"]["properties"]["resource"]["operator"]["operands"]["operand_2"] == "resource"


def test_every_collection_has_its_container_and_nothing_stale():
    from shared.records import ALL

    declared = [c["name"] for c in ic.cosmos_containers()]
    assert len(declared) == len(set(declared))
    assert set(declared) == set(ALL), (
        f"containers differ from shared/records.py (missing {sorted(set(ALL) - set(declared))}, "
        f"stale {sorted(set(declared) - set(ALL))}): run tools/infra_check.py sync"
    )


def test_containers_match_the_catalogue_exactly():
    from shared.records import ALL

    declared = {c["name"]: c for c in ic.cosmos_containers()}
    for name, coll in ALL.items():
        assert declared[name] == ic.expected_container(coll), f"{name} differs: run tools/infra_check.py sync"


def test_partition_key_and_ttl():
    from shared.adapters.azure.cosmos import PARTITION_PATH
    from shared.records import ALL

    for c in ic.cosmos_containers():
        resource = c["resource"]
        assert resource["id"] == c["name"]
        assert resource["partitionKey"] == {"paths": [PARTITION_PATH], "kind": "Hash", "version": 2}
        if ALL[c["name"]].expires:
            assert resource["defaultTtl"] == -1
        else:
            assert "defaultTtl" not in resource
        excluded = {p["path"] for p in resource["indexingPolicy"]["excludedPaths"]}
        assert {f"/{f}/*" for f in ALL[c["name"]].unindexed} <= excluded


def test_database_per_region():
    assert ic.cosmos_database_name_expr() == "${cosmosDatabasePrefix}-${geo}"
    settings = ic.variables(ic.MAIN)["vigilSettings"]
    assert settings["VIGIL_COSMOS_DATABASE_PREFIX"] == "cosmosDatabasePrefix"
    assert settings["VIGIL_REGION"] == "geo"


# ---- Service Bus queues ------------------------------------------------------------


def test_every_queue_exists_and_nothing_stale():
    declared = [q["name"] for q in ic.service_bus_queues()]
    assert len(declared) == len(set(declared))
    assert set(declared) == set(names.QUEUES.values()), "edit the queues in infra/app/messaging.bicep"


def test_queue_delivery_and_duplicate_detection():
    by_name = {q["name"]: q for q in ic.service_bus_queues()}
    for logical, queue in names.QUEUES.items():
        q = by_name[queue]
        assert isinstance(q["maxDeliveryCount"], int) and 1 <= q["maxDeliveryCount"] <= 100
        assert q["requiresDuplicateDetection"] is (logical in names.DUPLICATE_DETECTION), queue
    body = ic.parse(ic.APP / "messaging.bicep")["resources"]["queue"]["config"]["config"]["properties"]
    assert body["deadLetteringOnMessageExpiration"] is True
    assert body["requiresDuplicateDetection"] != "false"


def test_queue_names_are_settings(deployed, sample):
    expected = ic.queue_settings()
    assert {k: v for k, v in deployed.items() if k.startswith("QUEUE_")} == expected
    assert {k: v for k, v in sample["Values"].items() if k.startswith("QUEUE_")} == expected


# ---- Blob containers ---------------------------------------------------------------


def test_every_blob_container_exists_and_nothing_stale():
    declared = ic.blob_containers()
    assert set(declared) == set(names.BLOB_CONTAINERS.values()), "edit the containers in infra/app/storage.bicep"
    for name, props in declared.items():
        assert props.get("publicAccess") == "None", name


def test_only_the_evidence_and_audit_checkpoint_containers_are_immutable():
    declared = ic.blob_containers()
    write_once = {names.BLOB_CONTAINERS["evidence"], names.BLOB_CONTAINERS["audit_checkpoints"]}
    for name in write_once:
        assert declared[name]["immutableStorageWithVersioning"] == {"enabled": True}, name
    others = {n for n, p in declared.items() if "immutableStorageWithVersioning" in p}
    assert others == write_once


# ---- Timers ------------------------------------------------------------------------


def test_every_timer_has_a_schedule_setting(deployed, sample):
    for job, setting in names.TIMERS.items():
        assert setting in deployed, f"add {setting} (timer {job}) to defaultSchedules in infra/main.bicep"
        assert NCRONTAB.match(deployed[setting]), f"{setting}: six-field NCRONTAB, seconds first"
        assert sample["Values"].get(setting) == deployed[setting], f"{setting}: run tools/infra_check.py sync"
    stale = {k for k in deployed if k.startswith("SCHEDULE_")} - set(names.TIMERS.values())
    assert not stale, f"schedules for timers the code no longer has: {sorted(stale)}"


def test_default_schedules_are_the_codes_own():
    """A stamp overrides schedules with the `schedules` parameter; the defaults in Bicep
    are the ones the code registers with @timer, so the two never drift."""
    defaults = ic.variables(ic.MAIN)["defaultSchedules"]
    for job, schedule in ic.code_timer_defaults().items():
        setting = names.TIMERS.get(job)
        assert setting, f"timer {job} is registered but has no entry in shared/names.py TIMERS"
        assert defaults.get(setting) == schedule, f"{setting} in infra/main.bicep should be {schedule!r} (functions/jobs.py)"
