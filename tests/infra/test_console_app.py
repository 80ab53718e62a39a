"""The console's app registration: its app roles are the roles people hold in the code
(a role missing there could never be assigned; one the code does not know is ignored),
and each stamp's parameters carry its client id."""

from __future__ import annotations

import json
import uuid

from shared.domain.tenancy import Role
from tools import infra_check as ic

ROLES_FILE = ic.INFRA / "entra" / "console-app-roles.json"


def test_console_app_roles_are_the_roles_people_hold():
    roles = json.loads(ROLES_FILE.read_text(encoding="utf-8"))
    # Camera systems post plate reads with the API's client credentials; nobody signs in as one.
    assert sorted(r["value"] for r in roles) == sorted(r.value for r in Role if r is not Role.DEVICE_ANPR)
    for role in roles:
        assert role["allowedMemberTypes"] == ["User"] and role["isEnabled"] is True
        assert role["displayName"] and role["description"]
        # Stable ids: re-running the registration commands updates roles instead of replacing them.
        assert role["id"] == str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://vigil.example.net/console/roles/{role['value']}"))


def test_every_stamp_passes_its_console_client_id():
    for path in sorted(ic.INFRA.glob("main.parameters.*.json")):
        params = json.loads(path.read_text(encoding="utf-8"))["parameters"]
        assert params["consoleClientId"]["value"] == "${CONSOLE_CLIENT_ID=}", path.name
    assert ic.app_settings()["VIGIL_CONSOLE_CLIENT_ID"] == "consoleClientId"
