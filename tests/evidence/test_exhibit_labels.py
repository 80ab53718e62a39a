"""Exhibit labels: the producer's initials and a number on every item, unique within the
incident and never changed once given."""

from __future__ import annotations

import pytest

from shared.domain.exhibits import producer_initials
from shared.records import EVIDENCE
from tests.evidence.conftest import INVESTIGATOR, POLICE, PURPOSE, headers, new_incident, upload


@pytest.mark.parametrize(
    ("name", "initials"),
    [("Sam Taylor", "ST"), ("Łukasz Zoë Nowak", "ŁN"), ("zoë", "Z"), ("  ", "EX"), (None, "EX"), ("Mary-Jane O'Neil", "MO")],
)
def test_initials_come_from_the_first_and_last_names(name, initials):
    assert producer_initials(name) == initials


def test_every_item_gets_a_stable_label_unique_within_its_incident(ev):
    incident = new_incident(ev)  # reported by Sam Taylor (the example report)
    first = upload(ev, incident, **{"X-Evidence-Kind": "cctv"})
    second = upload(ev, incident)
    assert first.status_code == 201 and second.status_code == 201
    assert (first.json()["exhibit_label"], second.json()["exhibit_label"]) == ("ST/1", "ST/2")
    other = new_incident(ev)
    assert upload(ev, other).json()["exhibit_label"] == "ST/1"  # numbered per incident

    # Renaming the reporter does not relabel what was produced; new items take the new initials.
    inv = headers(ev, INVESTIGATOR)
    current = ev.client.get(f"/api/v1/incidents/{incident}", headers=inv)
    patch = ev.client.patch(
        f"/api/v1/incidents/{incident}", json={"reporter": {"name": "Łukasz Nowak"}}, headers={**inv, "If-Match": current.headers["etag"]}
    )
    assert patch.status_code == 200, patch.text
    third = upload(ev, incident, who=INVESTIGATOR)
    assert third.json()["exhibit_label"] == "ŁN/3"
    listed = ev.client.get(f"/api/v1/incidents/{incident}/evidence", headers=headers(ev, POLICE), params=PURPOSE).json()["items"]
    assert sorted(i["exhibit_label"] for i in listed) == ["ST/1", "ST/2", "ŁN/3"]


def test_items_from_before_labels_are_labelled_once_by_the_first_package(ev):
    incident = new_incident(ev)
    ids = [upload(ev, incident).json()["id"] for _ in range(2)]
    with ev.container.records.unit_of_work() as uow:  # as stored by a release without labels
        for evidence_id in ids:
            doc = uow.get(EVIDENCE.name, "northwind", evidence_id)
            doc.pop("exhibit_label")
            uow.replace(EVIDENCE.name, "northwind", doc, if_match=doc["_etag"])
    seen = []
    for _ in range(2):
        r = ev.client.get(f"/api/v1/incidents/{incident}/package", headers=headers(ev, POLICE), params=PURPOSE)
        assert r.status_code == 200
        listed = ev.client.get(f"/api/v1/incidents/{incident}/evidence", headers=headers(ev, POLICE), params=PURPOSE).json()["items"]
        seen.append({i["id"]: i["exhibit_label"] for i in listed})
    # New numbers (1 and 2 were given at receipt before the labels were lost), kept by the second package.
    assert sorted(seen[0].values()) == ["ST/3", "ST/4"] and seen[1] == seen[0]


def test_two_first_packages_at_once_agree_on_the_labels(ev, monkeypatch):
    """Where the store checks ETags at commit (Cosmos DB), the loser of a race to label old
    items gets PreconditionFailed: the package reads again (the labels then stored) and is
    built, instead of answering a GET with 412."""
    from shared.domain.errors import PreconditionFailed
    from shared.services.evidence import documents

    incident = new_incident(ev)
    evidence_id = upload(ev, incident).json()["id"]
    with ev.container.records.unit_of_work() as uow:
        doc = uow.get(EVIDENCE.name, "northwind", evidence_id)
        doc.pop("exhibit_label")
        uow.replace(EVIDENCE.name, "northwind", doc, if_match=doc["_etag"])
    real = documents.label_unlabelled
    lost = []

    def rival_first(uow, owner, incident_doc, items):
        if not lost:  # stands for a rival package committing its labels first
            lost.append(True)
            real(uow, owner, incident_doc, items)
            raise PreconditionFailed("changed meanwhile")
        return real(uow, owner, incident_doc, items)

    monkeypatch.setattr(documents, "label_unlabelled", rival_first)
    r = ev.client.get(f"/api/v1/incidents/{incident}/package", headers=headers(ev, POLICE), params=PURPOSE)
    assert r.status_code == 200 and lost == [True]
