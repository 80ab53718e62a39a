"""What would stop a stamp from deploying or redeploying in Azure, read from the
templates: Cosmos throughput within Azure's limits in both modes, a Key Vault that can be
recovered after `azd down`, custom role names unique per subscription."""

from __future__ import annotations

from tools import infra_check as ic

# Azure: a database with shared throughput holds at most 25 containers.
SHARED_THROUGHPUT_LIMIT = 25


def _data():
    return ic.parse(ic.APP / "data.bicep")


def _container_options():
    return _data()["resources"]["container"]["config"]["config"]["properties"]["options"]["operator"]["operands"]


def test_provisioned_mode_shares_throughput_among_at_most_25_containers():
    names = [c["name"] for c in ic.cosmos_containers()]
    shared_list = ic.variables(ic.APP / "data.bicep")["sharedThroughputContainers"]
    options = _container_options()
    # serverless or a listed container: no throughput of its own; any other: its own autoscale.
    condition = options["condition"]["operator"]
    assert condition["type"] == "or" and condition["operands"]["operand_1"] == "serverless"
    assert condition["operands"]["operand_2"]["function"]["parameters"]["container"] == "sharedThroughputContainers"
    assert options["true_value"] == {} and options["false_value"] == "dedicatedOptions"
    dedicated = ic.variables(ic.APP / "data.bicep")["dedicatedOptions"]
    assert dedicated == {"autoscaleSettings": {"maxThroughput": "containerAutoscaleMaxThroughput"}}
    sharing = [n for n in names if n in shared_list]
    assert len(sharing) <= SHARED_THROUGHPUT_LIMIT, f"{len(sharing)} containers share the database's throughput"
    assert set(shared_list) <= set(names), f"listed but not a container: {sorted(set(shared_list) - set(names))}"
    # The database itself has throughput only in provisioned mode.
    db_options = _data()["resources"]["database"]["config"]["properties"]["options"]["operator"]["operands"]
    assert db_options["condition"] == "serverless" and db_options["true_value"] == {}


def test_serverless_sets_no_throughput_anywhere():
    options = _container_options()
    # `serverless || ...` is true in serverless mode: every container gets {}.
    assert options["condition"]["operator"]["operands"]["operand_1"] == "serverless"
    assert options["true_value"] == {}


def test_container_autoscale_is_within_azures_minimum():
    spec = _data()["parameters"]["containerAutoscaleMaxThroughput"]
    assert {"type": "min_value", "argument": 1000} in spec["decorators"]
    assert (
        ic.parse(ic.MAIN)["modules"]["data"]["config"]["params"]["containerAutoscaleMaxThroughput"]
        == "cosmosContainerAutoscaleMaxThroughput"
    )


def test_key_vault_is_recovered_after_azd_down_by_one_switch():
    vault = ic.parse(ic.APP / "keyvault.bicep")["resources"]["vault"]["config"]["properties"]
    create_mode = vault["createMode"]["operator"]["operands"]
    assert (create_mode["condition"], create_mode["true_value"], create_mode["false_value"]) == ("recover", "recover", "default")
    assert vault["enablePurgeProtection"] is True
    main = ic.parse(ic.MAIN)
    assert main["modules"]["keyvault"]["config"]["params"]["recover"] == "keyVaultRecover"
    assert main["parameters"]["keyVaultRecover"]["default"] is False
    # The name is the same on every deploy of an environment, which is what lets recovery find it.
    assert ic.variables(ic.MAIN)["keyVaultName"] == "${abbrs.keyVaultVaults}${resourceToken}"


def test_custom_role_id_and_name_are_unique_per_subscription_and_environment():
    role = ic.rbac_resource("evidenceLockerRole")["config"]
    base, env, purpose = role["name"]["function"]["parameters"].values()
    assert base["operator"]["operands"]["operand_1"]["function"]["type"] == "subscription"
    assert base["operator"]["operands"]["operand_2"] == "id"
    assert (env, purpose) == ("environmentName", "vigil-evidence-locker")
    role_name = role["properties"]["roleName"]
    assert "${environmentName}" in role_name and "${subscription().subscriptionId}" in role_name


def test_evidence_lives_in_its_own_locked_resource_group():
    main = ic.parse(ic.MAIN)
    rgs = {s: r["config"]["name"] for s, r in main["resources"].items() if r["type"] == "Microsoft.Resources/resourceGroups"}
    assert rgs == {
        "rg": "${abbrs.resourcesResourceGroups}${environmentName}",
        "evidenceRg": "${abbrs.resourcesResourceGroups}${environmentName}-evidence",
    }
    scopes = {
        symbol: module["config"].get("scope") or module["config"]["config"].get("scope") for symbol, module in main["modules"].items()
    }
    # Only the evidence account and the identity's roles on it are in the evidence group.
    assert {s for s, scope in scopes.items() if scope == "evidenceRg"} == {"storage", "rbacEvidence"}
    storage = ic.parse(ic.APP / "storage.bicep")["resources"]
    assert [r["type"] for r in storage.values() if r["type"] == "Microsoft.Storage/storageAccounts"] == [
        "Microsoft.Storage/storageAccounts"
    ]
    lock = storage["evidenceLock"]["config"]
    # Unconditional: no parameter turns it off.
    assert "condition" not in lock
    assert lock["scope"] == "evidence" and lock["properties"]["level"] == "CanNotDelete"


def test_evidence_reads_writes_and_deletes_are_logged_to_the_workspace():
    settings = ic.parse(ic.APP / "storage.bicep")["resources"]["evidenceDiagnostics"]["config"]
    assert settings["scope"] == "evidenceBlobs"
    props = settings["properties"]
    assert props["workspaceId"] == "workspaceId"
    assert {log["category"] for log in props["logs"] if log["enabled"]} == {"StorageRead", "StorageWrite", "StorageDelete"}
    params = ic.parse(ic.MAIN)["modules"]["storage"]["config"]["params"]
    assert ic._render(params["workspaceId"]) == "monitoring.outputs.workspaceId"
