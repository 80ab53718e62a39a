"""The app registrations in infra/identity/entra.bicep. Neither pycep-parser nor checkov's
parser reads the Microsoft Graph extension's syntax, so this module is checked as text:
both applications and their service principals, every role of the API, v2.0 access
tokens, the console's redirect URI and its secretless credential, and main.bicep's call."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from shared.domain.tenancy import Role
from tools import infra_check as ic

ENTRA = ic.INFRA / "identity" / "entra.bicep"
API_ROLES = ic.INFRA / "entra" / "api-app-roles.json"


@pytest.fixture(scope="module")
def text() -> str:
    return ENTRA.read_text(encoding="utf-8")


def _resources(text: str) -> dict[str, tuple[str, str]]:
    """symbol -> (type@version, body) for each top-level resource."""
    found = {}
    for match in re.finditer(r"^resource (\w+) '([^']+)' = \{\n(.*?)\n\}$", text, re.M | re.S):
        found[match.group(1)] = (match.group(2), match.group(3))
    return found


def test_graph_modules_are_kept_from_the_parsers_that_cannot_read_them():
    assert ic.graph_bicep_files() == [ENTRA]
    assert ENTRA not in ic.bicep_files()
    assert re.search(r"^extension microsoftGraphV1$", ENTRA.read_text(encoding="utf-8"), re.M)
    config = json.loads((ic.INFRA / "bicepconfig.json").read_text(encoding="utf-8"))
    assert config["extensions"]["microsoftGraphV1"].startswith("br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:")


def test_both_applications_and_their_service_principals(text):
    resources = _resources(text)
    apps = {s: body for s, (kind, body) in resources.items() if kind == "Microsoft.Graph/applications@v1.0"}
    assert set(apps) == {"apiApp", "consoleApp"}
    sps = {s: body for s, (kind, body) in resources.items() if kind == "Microsoft.Graph/servicePrincipals@v1.0"}
    assert {re.search(r"appId: (\w+)\.appId", b).group(1) for b in sps.values()} == {"apiApp", "consoleApp"}
    for body in sps.values():
        assert "appRoleAssignmentRequired: true" in body
    for symbol, body in apps.items():
        # uniqueName makes a redeploy update the registration instead of adding another.
        assert re.search(r"uniqueName: '[a-z-]+\$\{environmentName\}'", body), symbol
        assert "signInAudience: 'AzureADMultipleOrgs'" in body, symbol
        assert re.search(r"api: \{\s*requestedAccessTokenVersion: 2\s*\}", body), symbol
        assert "passwordCredentials" not in body, symbol


def test_the_api_declares_every_role(text):
    body = _resources(text)["apiApp"][1]
    assert "appRoles: apiRoles" in body
    assert "var apiRoles = loadJsonContent('../entra/api-app-roles.json')" in text
    roles = json.loads(API_ROLES.read_text(encoding="utf-8"))
    assert sorted(r["value"] for r in roles) == sorted(r.value for r in Role)
    assert len(roles) == len(Role)
    for role in roles:
        members = ["Application"] if role["value"] == Role.DEVICE_ANPR else ["User"]
        assert role["allowedMemberTypes"] == members, role["value"]
        assert role["isEnabled"] is True and role["displayName"] and role["description"]
        assert role["id"] == str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://vigil.example.net/api/roles/{role['value']}"))


def test_the_console_signs_in_at_its_callback_with_its_roles(text):
    body = _resources(text)["consoleApp"][1]
    assert "appRoles: consoleRoles" in body
    assert "var consoleRoles = loadJsonContent('../entra/console-app-roles.json')" in text
    assert re.search(r"redirectUris: \[\s*'\$\{publicBaseUrl\}/signin/callback'\s*\]", body)
    assert "enableIdTokenIssuance: false" in body and "enableAccessTokenIssuance: false" in body


def test_the_console_credential_is_the_stamps_managed_identity(text):
    kind, body = _resources(text)["consoleStampCredential"]
    assert kind == "Microsoft.Graph/applications/federatedIdentityCredentials@v1.0"
    assert "name: '${consoleApp.uniqueName}/stamp-identity'" in body
    assert "subject: identityPrincipalId" in body
    assert "issuer: tenantIssuer" in body
    assert "var tenantIssuer = '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'" in text
    assert re.search(r"audiences: \[\s*'api://AzureADTokenExchange'\s*\]", body)
    main = ic.parse(ic.MAIN)["modules"]["entra"]["config"]
    assert main["condition"] == "entraApps"
    assert (
        main["config"]["params"]["identityPrincipalId"] == "identity.outputs.principalId"
        or ic._render(main["config"]["params"]["identityPrincipalId"]) == "identity.outputs.principalId"
    )


def test_main_passes_exactly_the_modules_parameters(text):
    declared = dict(re.findall(r"^param (\w+) \w+( =)?", text, re.M))
    outputs = set(re.findall(r"^output (\w+) ", text, re.M))
    main = ic.parse(ic.MAIN)["modules"]["entra"]
    assert main["detail"]["path"] == "identity/entra.bicep"
    given = set(main["config"]["config"]["params"])
    required = {name for name, default in declared.items() if not default}
    assert required <= given <= set(declared)
    used = set(re.findall(r"\bentra\.outputs\.(\w+)", ic.MAIN.read_text(encoding="utf-8")))
    assert used and used <= outputs
