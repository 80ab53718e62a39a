"""The national unit kind: its own roles, onboarding, the seeded `opal`, and that nothing
but what is referred to it reaches it (no route admits its roles; no sharing agreement
may name it)."""

from __future__ import annotations

from shared.domain.tenancy import OrgKind, Role, role_fits_org
from tests.d2p.helpers import report
from tests.fixtures_http import both_backends

PREFIX = "/api/v1"
NUO, NUA = Role.NATIONAL_UNIT_OFFICER.value, Role.NATIONAL_UNIT_ANALYST.value
PURPOSE = "National unit check of what it can read"


def test_roles_fit_only_their_own_kind():
    for role in Role:
        assert role_fits_org(role, OrgKind.NATIONAL_UNIT) == role.value.startswith("NationalUnit."), role
    assert not role_fits_org(Role.NATIONAL_UNIT_OFFICER, OrgKind.POLICE_FORCE)
    assert not role_fits_org(Role.NATIONAL_UNIT_ANALYST, OrgKind.RETAILER)


def test_opal_is_seeded_and_its_tokens_carry_only_unit_roles(stamp):
    opal = stamp.container.directory.organisation("opal")
    assert opal is not None and opal.kind == OrgKind.NATIONAL_UNIT and opal.home_region == "uk"
    claims = {"sub": "u1", "tid": opal.idp_tenant_id, "roles": [NUO, "Police.Officer", "Police.Analyst", "Retailer.Investigator"]}
    who = stamp.container.directory.principal_from_claims(claims)
    assert who.roles == frozenset({Role.NATIONAL_UNIT_OFFICER}) and who.is_national_unit
    assert not who.is_police and not who.is_retailer


@both_backends
def test_opal_reads_no_incident_search_or_case(stamp):
    incident = report(stamp, narrative="Opal must never read this narrative.")
    for role in (NUO, NUA):
        headers = stamp.auth("opal", role)
        for url, params in (
            (f"{PREFIX}/incidents", {"purpose": PURPOSE}),
            (f"{PREFIX}/incidents/{incident['id']}", {"purpose": PURPOSE}),
            (f"{PREFIX}/incidents/{incident['id']}/d2p", {"purpose": PURPOSE}),
            (f"{PREFIX}/anpr/hits", {}),
            (f"{PREFIX}/vehicles", {}),
            (f"{PREFIX}/footage-requests", {}),
        ):
            r = stamp.client.get(url, params=params, headers=headers)
            assert r.status_code == 403, (url, r.text)
            assert "Opal must never" not in r.text


def test_no_sharing_agreement_may_name_a_national_unit(stamp):
    url = f"{PREFIX}/organisations/northwind/sharing"
    admin = stamp.auth("northwind", "Retailer.Admin")
    etag = stamp.client.get(url, headers=admin).headers["etag"]
    r = stamp.client.put(url, json={"agreements": [{"partner_id": "opal", "level": "full"}]}, headers={**admin, "If-Match": etag})
    assert r.status_code == 422, r.text
    assert "national unit" in r.json()["detail"]
    assert stamp.container.directory.share_level("northwind", "opal").value == "none"


def test_an_operator_onboards_a_national_unit(stamp):
    body = {
        "name": "Merlin, a regional organised crime unit",
        "kind": "national_unit",
        "home_region": "uk",
        "idp_tenant_id": "0b7d4c1e-5a2f-4e8b-9c3d-1f2e3d4c5b99",
        "reference_prefix": "MRL",
    }
    r = stamp.client.put(f"{PREFIX}/organisations/merlin", json=body, headers=stamp.auth("vigil-platform", "Platform.Operator"))
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "national_unit"
    # A unit takes no D2P reports: it has no control-room inbox.
    r = stamp.client.put(
        f"{PREFIX}/organisations/merlin2",
        json={
            **body,
            "idp_tenant_id": "0b7d4c1e-5a2f-4e8b-9c3d-1f2e3d4c5b98",
            "reference_prefix": "MRM",
            "control_room_email": "a@b.example",
        },
        headers=stamp.auth("vigil-platform", "Platform.Operator"),
    )
    assert r.status_code == 422, r.text
