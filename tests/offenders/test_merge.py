"""Merging two profiles of the same person relinks the incident persons through the
incidents service; unmerging restores both profiles and the incidents exactly."""

from __future__ import annotations

from tests.offenders.test_http import API, INV, list_person, report


def _profile(stamp, name: str, dob: str, plate: str, aliases: list[str]) -> dict:
    person = {"role": "suspect", "name": name, "date_of_birth": dob}
    first = report(stamp, occurred_at="2026-11-10T10:00:00+00:00", person=person, plate=plate)
    second = report(stamp, person=person, plate=plate)
    r = list_person(stamp, [first, second], aliases=aliases)
    assert r.status_code == 201, r.text
    return r.json()


def _get(stamp, pid: str):
    return stamp.client.get(f"{API}/offenders/{pid}", headers=stamp.auth(*INV))


def test_merge_then_unmerge_restores_both_exactly(stamp):
    h = stamp.auth(*INV)
    kept = _profile(stamp, "Jamie Doyle", "1990-04-12", "WR21 XKD", ["JD"])
    other = _profile(stamp, "James Doyle", "1990-04-12", "AB12 CDE", ["Jim"])
    before_kept = _get(stamp, kept["id"]).json()
    before_other = _get(stamp, other["id"]).json()

    refused = stamp.client.post(f"{API}/offenders/{other['id']}/merge-into/{other['id']}", headers={**h, "If-Match": before_other["etag"]})
    assert refused.status_code == 422
    merged = stamp.client.post(f"{API}/offenders/{other['id']}/merge-into/{kept['id']}", headers={**h, "If-Match": before_other["etag"]})
    assert merged.status_code == 200, merged.text
    assert merged.json()["status"] == "merged" and merged.json()["merged_into"] == kept["id"] and not merged.json()["in_force"]
    after = _get(stamp, kept["id"]).json()
    assert set(after["incident_ids"]) == set(kept["incident_ids"]) | set(other["incident_ids"])
    assert after["aliases"] == ["JD", "James Doyle", "Jim"] and after["plates"] == ["AB12CDE", "WR21XKD"]
    for incident_id in other["incident_ids"]:
        incident = stamp.client.get(f"{API}/incidents/{incident_id}", headers=h).json()
        assert incident["persons"][0]["offender_id"] == kept["id"]
    # A merged profile is not changed; it is unmerged.
    assert (
        stamp.client.patch(
            f"{API}/offenders/{other['id']}", json={"description": "x"}, headers={**h, "If-Match": merged.json()["etag"]}
        ).status_code
        == 409
    )

    unmerged = stamp.client.post(f"{API}/offenders/{other['id']}/unmerge", headers={**h, "If-Match": merged.json()["etag"]})
    assert unmerged.status_code == 200, unmerged.text
    ignore = {"version", "etag"}
    assert {k: v for k, v in unmerged.json().items() if k not in ignore} == {k: v for k, v in before_other.items() if k not in ignore}
    assert {k: v for k, v in _get(stamp, kept["id"]).json().items() if k not in ignore} == {
        k: v for k, v in before_kept.items() if k not in ignore
    }
    for incident_id in other["incident_ids"]:
        incident = stamp.client.get(f"{API}/incidents/{incident_id}", headers=h).json()
        assert incident["persons"][0]["offender_id"] == other["id"]
    again = stamp.client.post(f"{API}/offenders/{other['id']}/unmerge", headers={**h, "If-Match": unmerged.headers["ETag"]})
    assert again.status_code == 409
    ops = [v["note"] for v in stamp.client.get(f"{API}/offenders/{kept['id']}/versions", headers=h).json()["items"]]
    assert ops[-2:] == [f"merged {other['id']} into this profile", f"unmerged {other['id']}"]
