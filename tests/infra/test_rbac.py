"""The app's identity holds exactly the data-plane roles the code needs, each on the one
resource that needs it, and every assignment is named guid(scope, principal, role).

What the code needs is derived from the code: an SDK imported under shared/ or
functions/ (or pinned in requirements.txt, for adapters still being written), and the
queues and blob containers of shared/names.py."""

from __future__ import annotations

import re

from shared import names
from tools import infra_check as ic

STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
SERVICE_BUS_DATA_SENDER = "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"
SERVICE_BUS_DATA_RECEIVER = "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
COSMOS_DATA_CONTRIBUTOR = "00000000-0000-0000-0000-000000000002"

ROLE_NAMES = {
    STORAGE_BLOB_DATA_OWNER: "Storage Blob Data Owner",
    STORAGE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor",
    STORAGE_QUEUE_DATA_CONTRIBUTOR: "Storage Queue Data Contributor",
    STORAGE_TABLE_DATA_CONTRIBUTOR: "Storage Table Data Contributor",
    SERVICE_BUS_DATA_SENDER: "Azure Service Bus Data Sender",
    SERVICE_BUS_DATA_RECEIVER: "Azure Service Bus Data Receiver",
    KEY_VAULT_SECRETS_USER: "Key Vault Secrets User",
    KEY_VAULT_SECRETS_OFFICER: "Key Vault Secrets Officer",
    MONITORING_METRICS_PUBLISHER: "Monitoring Metrics Publisher",
    COSMOS_DATA_CONTRIBUTOR: "Cosmos DB Built-in Data Contributor",
    "custom:evidenceLockerRole": "Vigil evidence locker (custom)",
}

CODE_DIRS = ("shared", "functions")


def _code_text() -> str:
    files = [p for d in CODE_DIRS for p in (ic.ROOT / d).rglob("*.py")]
    files += [ic.ROOT / "function_app.py"] if (ic.ROOT / "function_app.py").exists() else []
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


def _requirements() -> set[str]:
    path = ic.ROOT / "requirements.txt"
    reqs = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            reqs.add(re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0].lower())
    return reqs


def _uses(module: str, distribution: str) -> bool:
    imported = re.search(rf"^\s*(from|import)\s+{re.escape(module)}(\.|\s|$)", _code_text(), re.M)
    return bool(imported) or distribution in _requirements()


def expected_identity_roles() -> set[tuple[str, str]]:
    """(scope resource in rbac.bicep, role) pairs the app's identity needs."""
    from shared.records import ALL

    roles = {
        # Flex Consumption: package download and host state in the host's account.
        ("deploymentStorage", STORAGE_BLOB_DATA_OWNER),
        # App Insights with local auth off accepts telemetry only from this role.
        ("appInsights", MONITORING_METRICS_PUBLISHER),
    }
    if ALL and _uses("azure.cosmos", "azure-cosmos"):
        roles.add(("cosmos", COSMOS_DATA_CONTRIBUTOR))
    if names.BLOB_CONTAINERS and _uses("azure.storage.blob", "azure-storage-blob"):
        roles.add(("evidenceStorage", STORAGE_BLOB_DATA_CONTRIBUTOR))
    if evidence_locker_data_actions():
        roles.add(("evidenceContainer", "custom:evidenceLockerRole"))
    if _uses("azure.storage.queue", "azure-storage-queue"):
        roles.add(("evidenceStorage", STORAGE_QUEUE_DATA_CONTRIBUTOR))
    if _uses("azure.data.tables", "azure-data-tables"):
        roles.add(("evidenceStorage", STORAGE_TABLE_DATA_CONTRIBUTOR))
    if names.QUEUES:
        # Every queue is the app's own: it enqueues (dispatch, alerts, webhooks) and its
        # Service Bus triggers consume.
        roles.add(("serviceBus", SERVICE_BUS_DATA_SENDER))
        roles.add(("serviceBus", SERVICE_BUS_DATA_RECEIVER))
    settings = ic.app_settings()
    uses_references = any(isinstance(v, str) and v.startswith("@Microsoft.KeyVault(") for v in settings.values())
    if uses_references or _uses("sendgrid", "sendgrid"):
        # The SendGrid key (and signing settings) arrive as Key Vault references.
        roles.add(("keyVault", KEY_VAULT_SECRETS_USER))
    return roles


IMMUTABILITY = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/immutableStorage/runAsSuperUser/action"
DELETE_VERSION = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/deleteBlobVersion/action"


def evidence_locker_data_actions() -> set[str]:
    """Data actions beyond Storage Blob Data Contributor that the blob code performs:
    setting immutability policies (on commit or after) and deleting blob versions."""
    code = _code_text()
    actions = set()
    if re.search(r"immutability_policy\s*=|set_immutability_policy\(", code):
        actions.add(IMMUTABILITY)
    if re.search(r"version_id\s*=", code) and "delete_blob(" in code:
        actions.add(DELETE_VERSION)
    return actions


def _named(roles):
    return sorted(f"{ROLE_NAMES.get(r, r)} on {s}" for s, r in roles)


def test_identity_holds_exactly_the_roles_the_code_needs():
    held = {(a.scope, a.role_id) for a in ic.role_assignments() if a.principal == "principalId"}
    expected = expected_identity_roles()
    assert not (expected - held), f"missing in infra/app/rbac.bicep: {_named(expected - held)}"
    assert not (held - expected), f"not needed by the code (least privilege): {_named(held - expected)}"


def test_identity_assignments_are_unconditional_service_principal_ones():
    text = "\n".join(path.read_text() for path in ic.RBAC_FILES)
    for a in ic.role_assignments():
        if a.principal == "principalId":
            assert not a.conditional, a.symbol
    assert text.count("principalType: 'ServicePrincipal'") == sum(
        1 for a in ic.role_assignments() if a.principal == "principalId" and a.kind == "azure"
    )


def test_every_assignment_is_named_guid_scope_principal_role():
    rbac_vars = ic.rbac_variables()
    role_var = {v: k for k, v in rbac_vars.items() if isinstance(v, str)}
    for a in ic.role_assignments():
        if a.kind == "azure":
            scope = f"{a.scope}.id"
        else:
            scope = next(k for k, v in rbac_vars.items() if v == "${cosmos.id}/dbs/${cosmosDatabaseName}")
        role = a.role_id.removeprefix("custom:") + ".id" if a.role_id.startswith("custom:") else role_var[a.role_id]
        assert a.name_args == (scope, a.principal, role), a.symbol


def test_custom_role_grants_exactly_what_the_evidence_code_does():
    custom = ic.custom_roles()
    expected = evidence_locker_data_actions()
    if not expected:
        assert "evidenceLockerRole" not in custom
        return
    role = custom["evidenceLockerRole"]
    assert role["actions"] == []
    assert set(role["dataActions"]) == expected
    # Assigned on the evidence container only, not the account.
    locker = next(a for a in ic.role_assignments() if a.role_id == "custom:evidenceLockerRole")
    assert locker.scope_type == "Microsoft.Storage/storageAccounts/blobServices/containers"
    existing = ic.rbac_resource(locker.scope)["config"]["name"]
    assert existing.endswith(f"/default/{names.BLOB_CONTAINERS['evidence']}")


def test_cosmos_role_is_scoped_to_the_region_database():
    tree = ic.parse(ic.APP / "rbac.bicep")
    body = tree["resources"]["recordsContributor"]["config"]
    assert body["properties"]["scope"] == "cosmosScope"
    assert ic.rbac_variables()["cosmosScope"] == "${cosmos.id}/dbs/${cosmosDatabaseName}"


def test_people_get_only_the_secrets_officer_role_and_only_when_named():
    others = [a for a in ic.role_assignments() if a.principal != "principalId"]
    assert [(a.principal, a.scope, a.role_id, a.conditional) for a in others] == [
        ("operatorsPrincipalId", "keyVault", KEY_VAULT_SECRETS_OFFICER, True)
    ]


def test_role_ids_are_the_built_in_ones():
    for name, value in ic.rbac_variables().items():
        if isinstance(value, str) and re.fullmatch(r"[0-9a-f-]{36}", value):
            assert value in ROLE_NAMES, f"{name} = {value} is not a role this test knows"


def test_every_role_assignment_lives_in_the_rbac_files():
    for path in ic.bicep_files():
        if path in ic.RBAC_FILES:
            continue
        text = path.read_text()
        assert "roleAssignments@" not in text and "sqlRoleAssignments@" not in text, path.name
