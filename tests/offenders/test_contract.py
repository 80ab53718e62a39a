"""The person-of-interest reads other capabilities build on, on both record stores: the
audited `profiles.get` (own organisation only) and the unaudited `profiles_by_ids`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shared.domain.errors import NotFound
from shared.domain.offenders import PersonOfInterest
from shared.domain.tenancy import OrgKind, Principal, Role
from shared.ports import Where
from shared.records import AUDIT, OFFENDERS
from shared.services.offenders import profiles_by_ids
from shared.services.offenders.catalogue import to_document
from tests.retention.helpers import INVESTIGATOR, container_on

pytestmark = pytest.mark.xdist_group("retention-cosmos")

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CONTOSO = Principal(
    user_id="ct-inv", organisation_id="contoso", organisation_kind=OrgKind.RETAILER, roles=frozenset({Role.RETAILER_INVESTIGATOR})
)
NW_REPORTER = Principal(
    user_id="nw-rep",
    organisation_id="northwind",
    organisation_kind=OrgKind.RETAILER,
    roles=frozenset({Role.RETAILER_REPORTER}),
    stores=frozenset({"nw-plymouth"}),
)


@pytest.fixture
def c(record_store, tmp_path):
    yield container_on(record_store, tmp_path)


def _put(c, **overrides) -> PersonOfInterest:
    fields = {
        "id": "off-1",
        "organisation_id": "northwind",
        "name": "Jamie Doyle",
        "date_of_birth": date(1990, 4, 12),
        "incident_ids": ["inc-1"],
        "plates": ["WR21XKD"],
        "listed_at": NOW,
        "review_at": NOW + timedelta(days=90),
        "expires_at": NOW + timedelta(days=365),
    }
    fields.update(overrides)
    p = PersonOfInterest.model_validate(fields)
    with c.records.unit_of_work() as uow:
        uow.insert(OFFENDERS.name, p.organisation_id, to_document(p))
    return p


def test_get_is_own_organisation_only_and_audited(c):
    p = _put(c)
    assert c.offenders.profiles.get(INVESTIGATOR, "off-1") == p
    with pytest.raises(NotFound):
        c.offenders.profiles.get(CONTOSO, "off-1")
    with pytest.raises(NotFound):
        c.offenders.profiles.get(NW_REPORTER, "off-1")
    c.audit.link_pending("northwind")  # reads are journaled, then linked into the chain
    with c.records.read_only() as uow:
        entries = uow.query(AUDIT.name, ["northwind"], [Where("entity", "eq", "offender/off-1")], limit=10).items
    assert [e["operation"] for e in entries] == ["offender.read"]


def test_profiles_by_ids_reads_one_organisation_and_its_indexes_answer(c):
    p = _put(c)
    _put(c, id="off-2", name=None, incident_ids=["inc-2"], plates=[])
    found = profiles_by_ids(c.records, "northwind", ["off-1", "off-2", "off-missing"])
    assert set(found) == {"off-1", "off-2"} and found["off-1"] == p
    assert profiles_by_ids(c.records, "contoso", ["off-1"]) == {}
    with c.records.read_only() as uow:
        assert set(profiles_by_ids(uow, "northwind", ["off-2"])) == {"off-2"}
        by_name = uow.query(OFFENDERS.name, ["northwind"], [Where("name_key", "eq", "doyle jamie")]).items
        by_plate = uow.query(OFFENDERS.name, ["northwind"], [Where("plates", "contains", "WR21XKD")]).items
        by_incident = uow.query(OFFENDERS.name, ["northwind"], [Where("incident_ids", "contains", "inc-2")]).items
    assert [d["id"] for d in by_name] == ["off-1"]
    assert [d["id"] for d in by_plate] == ["off-1"]
    assert [d["id"] for d in by_incident] == ["off-2"]
