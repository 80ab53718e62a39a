"""Suspect images on a profile: only a redacted image of one of the person's own incidents."""

from __future__ import annotations

from tests.offenders.images_helpers import redacted_image
from tests.offenders.test_http import API, INV, list_person, report


def test_only_a_redacted_image_of_the_persons_incidents_is_shown(stamp):
    h = stamp.auth(*INV)
    incident = report(stamp, violence=True)
    unrelated = report(stamp, person={"role": "suspect", "name": "Someone Else"})
    created = list_person(stamp, [incident])
    pid, etag = created.json()["id"], created.headers["ETag"]
    original, redacted = redacted_image(stamp.client, h, incident["id"])
    _, elsewhere = redacted_image(stamp.client, h, unrelated["id"])
    url = f"{API}/offenders/{pid}/images"

    r = stamp.client.put(f"{url}/{original['id']}", headers={**h, "If-Match": etag})
    assert r.status_code == 422 and r.json()["errors"][0]["criterion"] == "redacted" and "/redactions" in r.json()["detail"]
    r = stamp.client.put(f"{url}/{elsewhere['id']}", headers={**h, "If-Match": etag})
    assert r.status_code == 422 and r.json()["errors"][0]["criterion"] == "own_incident"
    assert stamp.client.put(f"{url}/{redacted['id']}", headers=h).status_code == 428
    r = stamp.client.put(f"{url}/{redacted['id']}", headers={**h, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["image_evidence_ids"] == [redacted["id"]] and r.json()["version"] == 2
    removed = stamp.client.delete(f"{url}/{redacted['id']}", headers={**h, "If-Match": r.headers["ETag"]})
    assert removed.status_code == 200 and removed.json()["image_evidence_ids"] == []
    # The evidence item itself stays with its incident.
    assert stamp.client.get(f"{API}/evidence/{redacted['id']}", headers=h).status_code == 200
    # Contoso cannot touch northwind's profile.
    ct = stamp.auth("contoso", "Retailer.Investigator")
    assert stamp.client.put(f"{url}/{redacted['id']}", headers={**ct, "If-Match": removed.headers["ETag"]}).status_code == 404
