"""What would stop a stamp from deploying or redeploying in Azure, read from the
templates: Cosmos throughput within Azure's limits in both modes, a Key Vault that can be
recovered after `azd down`, custom role names unique per subscription, and evidence
deployed outside azd's deployment so `azd down` succeeds and never reaches it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

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


def _module_scope(module):
    body = module["config"]
    return body.get("scope") or (body.get("config") or {}).get("scope")


def _locks_deployed_from(path, seen=None):
    """(file, symbol, conditional) of every lock a template deploys, its modules included."""
    seen = set() if seen is None else seen
    if path in seen:
        return []
    seen.add(path)
    tree = ic.parse(path)
    found = []
    for symbol, resource in (tree.get("resources") or {}).items():
        if resource["type"] == "Microsoft.Authorization/locks" and not resource.get("existing"):
            found.append((path.name, symbol, "condition" in resource["config"]))
    for module in (tree.get("modules") or {}).values():
        conditional = "condition" in module["config"]
        target = (path.parent / module["detail"]["path"]).resolve()
        found += [(f, s, c or conditional) for f, s, c in _locks_deployed_from(target, seen)]
    return found


def test_azds_deployment_puts_nothing_in_the_evidence_group():
    """`azd down` deletes the groups tagged azd-env-name (and, in older azd, every group its
    deployment put a resource in): azd's deployment only references evidence."""
    main = ic.parse(ic.MAIN)
    groups = {s: r for s, r in main["resources"].items() if r["type"] == "Microsoft.Resources/resourceGroups"}
    created = {s: r["config"]["name"] for s, r in groups.items() if not r.get("existing")}
    assert created == {"rg": "${abbrs.resourcesResourceGroups}${environmentName}"}
    assert groups["evidenceRg"]["existing"] is True
    assert groups["evidenceRg"]["config"]["name"] == "evidenceResourceGroupName"
    account = main["resources"]["evidenceAccount"]
    assert account["existing"] is True and account["type"] == "Microsoft.Storage/storageAccounts"
    assert account["config"]["scope"]["function"]["parameters"]["resource_group_name"] == "evidenceResourceGroupName"
    # Every module of azd's deployment lands in the compute group.
    assert {symbol: _module_scope(m) for symbol, m in main["modules"].items() if _module_scope(m) != "rg"} == {}
    # The app finds the account azd did not make.
    settings = ic.variables(ic.MAIN)["vigilSettings"]
    assert ic._render(settings["VIGIL_EVIDENCE_BLOB_ACCOUNT_URL"]) == "evidenceAccount.properties.primaryEndpoints.blob"


def test_azds_deployment_creates_no_lock_a_throwaway_stamp_cannot_turn_off():
    """Evidence's lock is outside azd's deployment; the records locks (Cosmos DB, Key Vault)
    follow resourceLocks, so `azd down` of a stamp without them succeeds."""
    locks = _locks_deployed_from(ic.MAIN.resolve())
    assert locks, "the records locks are expected in app/operations.bicep"
    assert [(f, s) for f, s, conditional in locks if not conditional] == []
    assert {f for f, _, _ in locks} == {"operations.bicep"}


def test_the_evidence_deployment_creates_the_group_its_account_and_an_unconditional_lock():
    evidence = ic.parse(ic.EVIDENCE_MAIN)
    assert evidence["globals"]["scope"]["value"] == "subscription"
    group = evidence["resources"]["evidenceRg"]
    assert group["type"] == "Microsoft.Resources/resourceGroups" and not group.get("existing")
    assert group["config"]["name"] == "evidenceResourceGroupName"
    # Not the tag `azd down` finds its groups by.
    tags = {key.strip("'"): value for key, value in ic.variables(ic.EVIDENCE_MAIN)["tags"].items()}
    assert "azd-env-name" not in tags and tags["vigil-env-name"] == "environmentName"
    modules = evidence["modules"]
    assert {s: m["detail"]["path"] for s, m in modules.items()} == {
        "custodyLogs": "custody-logs.bicep",
        "storage": "../app/storage.bicep",
        "lock": "lock.bicep",
        "rbacEvidence": "../app/rbac-evidence.bicep",
    }
    assert {_module_scope(m) for m in modules.values()} == {"evidenceRg"}
    # The lock: on the group (no scope), CanNotDelete, and nothing turns it off.
    assert "condition" not in modules["lock"]["config"]
    lock = ic.parse(ic.INFRA / "evidence" / "lock.bicep")["resources"]["evidenceLock"]["config"]
    assert "condition" not in lock and "scope" not in lock
    assert lock["properties"]["level"] == "CanNotDelete"
    # The storage module itself carries no lock of its own to forget about when retiring.
    assert [r for r in ic.parse(ic.APP / "storage.bicep")["resources"].values() if r["type"] == "Microsoft.Authorization/locks"] == []
    # The identity's roles only once it exists (the postprovision run).
    condition = modules["rbacEvidence"]["config"]["condition"]["operator"]
    assert condition["type"] == "not"
    assert condition["operands"]["bool_value"]["function"] == {"type": "empty", "parameters": {"item_to_test": "appPrincipalId"}}


def test_both_deployments_name_the_evidence_group_and_account_alike():
    main, evidence = ic.variables(ic.MAIN), ic.variables(ic.EVIDENCE_MAIN)
    for name in ("stampLocation", "resourceToken", "evidenceResourceGroupName", "evidenceStorageName"):
        assert ic._render(main[name]) == ic._render(evidence[name]), name
    assert ic.variables(ic.MAIN)["evidenceResourceGroupName"] == "${abbrs.resourcesResourceGroups}${environmentName}-evidence"


def test_hooks_deploy_evidence_before_provision_and_its_roles_after_on_sh_and_pwsh():
    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load((ic.ROOT / "azure.yaml").read_text())["hooks"]
    scripts = ic.INFRA / "scripts"
    runs = {
        event: {shell["shell"]: ic.ROOT / shell["run"] for shell in hooks[event].values()} for event in ("preprovision", "postprovision")
    }
    assert runs["preprovision"] == {"sh": scripts / "preprovision.sh", "pwsh": scripts / "preprovision.ps1"}
    assert runs["postprovision"] == {"sh": scripts / "evidence.sh", "pwsh": scripts / "evidence.ps1"}
    for shell, check, evidence in (("sh", "check-geo.sh", "evidence.sh"), ("pwsh", "check-geo.ps1", "evidence.ps1")):
        text = runs["preprovision"][shell].read_text()
        # The geography is checked before anything is deployed.
        assert text.index(check) < text.index(evidence), shell
    for script in ("evidence.sh", "evidence.ps1"):
        text = (scripts / script).read_text()
        assert "deployment" in text and "sub" in text and "create" in text and "infra/evidence/evidence.bicep" in text, script
        assert "infra/evidence/evidence.parameters.json" in text, script
    assert all(not shell.get("continueOnError") for event in hooks.values() for shell in event.values())


def _run_preprovision(tmp_path, env, with_az=True):
    """The posix preprovision hook as azd runs it, with a stand-in `az` that records its
    arguments (no Azure CLI here)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    calls = tmp_path / "az-calls"
    if with_az:
        fake = bin_dir / "az"
        fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> "{calls}"\necho --- >> "{calls}"\n')
        fake.chmod(0o755)
    else:
        # Only a Python and the POSIX tools: no Azure CLI on the path.
        (bin_dir / "python3").symlink_to(sys.executable)
    path = os.pathsep.join([str(bin_dir), os.environ["PATH"]]) if with_az else os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])
    proc = subprocess.run(
        ["sh", str(ic.INFRA / "scripts" / "preprovision.sh")],
        cwd=ic.ROOT,
        env={"PATH": path, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    invocations = [c.strip("\n").split("\n") for c in calls.read_text().split("---")[:-1]] if calls.exists() else []
    return proc, invocations


def test_preprovision_deploys_the_evidence_group_with_the_azd_environments_values(tmp_path):
    env = {"AZURE_ENV_NAME": "vigil-uk", "VIGIL_GEO": "uk", "AZURE_SUBSCRIPTION_ID": "sub-1", "VIGIL_EVIDENCE_STORAGE_SKU": "Standard_GZRS"}
    proc, calls = _run_preprovision(tmp_path, env)
    assert proc.returncode == 0, proc.stderr
    deploy = next(c for c in calls if c[:3] == ["deployment", "sub", "create"])
    args = {a: deploy[i + 1] for i, a in enumerate(deploy[:-1]) if a in ("--template-file", "--name", "--location", "--subscription")}
    assert args["--template-file"] == "infra/evidence/evidence.bicep"
    assert args["--name"] == "vigil-evidence-vigil-uk" and args["--location"] == "uksouth" and args["--subscription"] == "sub-1"
    passed = dict(deploy[i + 1].split("=", 1) for i, a in enumerate(deploy) if a == "--parameters")
    assert passed == {k: str(v) for k, v in ic.azd_parameters(env, ic.EVIDENCE_PARAMETERS).items()}
    assert passed["evidenceStorageSku"] == "Standard_GZRS" and passed["appPrincipalId"] == ""


def test_preprovision_stops_before_azd_provisions_when_evidence_cannot_be_deployed(tmp_path):
    wrong_geo, calls = _run_preprovision(tmp_path, {"AZURE_ENV_NAME": "vigil-uk", "VIGIL_GEO": "fr"})
    assert wrong_geo.returncode == 1 and not any(c[:3] == ["deployment", "sub", "create"] for c in calls)
    no_cli, _ = _run_preprovision(tmp_path / "x", {"AZURE_ENV_NAME": "vigil-uk", "VIGIL_GEO": "uk"}, with_az=False)
    assert no_cli.returncode == 1 and "Azure CLI (az) deploys the evidence group" in no_cli.stderr


@pytest.mark.parametrize("geo", ["uk", "au", "nz", "us", "ca"])
def test_evidence_parameters_resolve_for_every_geography_like_azds(geo):
    env = {"AZURE_ENV_NAME": f"vigil-{geo}", "VIGIL_GEO": geo}
    assert ic.azd_parameter_problems(env, ic.EVIDENCE_MAIN, ic.EVIDENCE_PARAMETERS) == []
    # A setting both deployments read comes from the same variable with the same default.
    main, evidence = (json.loads(p.read_text())["parameters"] for p in (ic.PARAMETERS, ic.EVIDENCE_PARAMETERS))
    for name in set(main) & set(evidence):
        assert main[name] == evidence[name], name
    assert set(evidence) == set(ic.parse(ic.EVIDENCE_MAIN)["parameters"])


def test_evidence_reads_writes_and_deletes_are_logged_for_as_long_as_evidence_may_be_kept():
    from shared.settings import Settings

    settings = ic.parse(ic.APP / "storage.bicep")["resources"]["evidenceDiagnostics"]["config"]
    assert settings["scope"] == "evidenceBlobs"
    props = settings["properties"]
    assert props["workspaceId"] == "workspaceId"
    assert {log["category"] for log in props["logs"] if log["enabled"]} == {"StorageRead", "StorageWrite", "StorageDelete"}
    evidence = ic.parse(ic.EVIDENCE_MAIN)
    assert ic._render(evidence["modules"]["storage"]["config"]["params"]["workspaceId"]) == "custodyLogs.outputs.workspaceId"
    # The custody logs live in the evidence group, so `azd down` leaves them too, and the
    # blob log table keeps them as long as the longest evidence retention allows.
    table = ic.parse(ic.INFRA / "evidence" / "custody-logs.bicep")["resources"]["blobLogs"]["config"]
    assert table["name"] == "StorageBlobLogs" and table["properties"]["totalRetentionInDays"] == "retentionInDays"
    bounds = Settings.model_fields["retention_bounds_months"].default_factory()  # type: ignore[call-arg,misc]
    longest_months = bounds["evidence"][1]
    default_days = evidence["parameters"]["custodyLogRetentionDays"]["default"]
    assert default_days >= longest_months * 365.25 / 12
