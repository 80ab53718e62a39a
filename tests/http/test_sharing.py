"""Sharing agreements over HTTP: a retailer decides who sees its incidents, and it takes effect."""

from __future__ import annotations

from tests.http.test_incidents import report

URL = "/api/v1/organisations/{}/sharing"
PURPOSE = {"purpose": "Reviewing shoplifting series in Plymouth"}


def _read(stamp, org="northwind", role="Retailer.Admin"):
    return stamp.client.get(URL.format(org), headers=stamp.auth(org, role))


def _put(stamp, agreements, etag, org="northwind"):
    headers = stamp.auth(org, "Retailer.Admin")
    if etag is not None:
        headers["If-Match"] = etag
    return stamp.client.put(URL.format(org), json={"agreements": agreements}, headers=headers)


def test_admin_reads_seeded_agreements_with_etag(stamp):
    r = _read(stamp)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["direction"] == "outgoing"
    assert [(a["partner_id"], a["level"]) for a in body["agreements"]] == [("devon-and-cornwall", "full")]
    assert r.headers["etag"] == body["etag"]


def test_force_admin_sees_who_shares_with_it(stamp):
    r = _read(stamp, "devon-and-cornwall", "Police.Admin")
    assert r.status_code == 200, r.text
    assert r.json()["direction"] == "incoming"
    assert [a["owner_id"] for a in r.json()["agreements"]] == ["northwind"]


def test_withdrawing_sharing_hides_incidents_from_the_force(stamp):
    incident = report(stamp).json()
    police = stamp.auth("devon-and-cornwall", "Police.Officer")
    url = f"/api/v1/incidents/{incident['id']}"
    assert stamp.client.get(url, params=PURPOSE, headers=police).status_code == 200
    etag = _read(stamp).headers["etag"]
    r = _put(stamp, [{"partner_id": "devon-and-cornwall", "level": "counts", "anpr": False}], etag)
    assert r.status_code == 200, r.text
    assert r.json()["agreements"][0]["level"] == "counts" and r.headers["etag"] != etag
    assert stamp.client.get(url, params=PURPOSE, headers=police).status_code == 404
    # ... and giving it back restores access.
    r = _put(stamp, [{"partner_id": "devon-and-cornwall", "level": "descriptions"}], r.headers["etag"])
    assert r.status_code == 200
    seen = stamp.client.get(url, params=PURPOSE, headers=police)
    assert seen.status_code == 200 and seen.json()["narrative"] == incident["narrative"]


def test_sharing_with_another_force_lets_it_see_only_its_area(stamp):
    incident = report(stamp).json()
    etag = _read(stamp).headers["etag"]
    r = _put(stamp, [{"partner_id": "devon-and-cornwall", "level": "full"}, {"partner_id": "avon-and-somerset", "level": "full"}], etag)
    assert r.status_code == 200
    # The store lies in Devon and Cornwall: Avon and Somerset still sees nothing of it.
    other = stamp.client.get(
        f"/api/v1/incidents/{incident['id']}", params=PURPOSE, headers=stamp.auth("avon-and-somerset", "Police.Officer")
    )
    assert other.status_code == 404


def test_if_match_required_and_stale_etag_refused(stamp):
    agreements = [{"partner_id": "devon-and-cornwall", "level": "descriptions", "anpr": True}]
    assert _put(stamp, agreements, None).status_code == 428
    etag = _read(stamp).headers["etag"]
    assert _put(stamp, agreements, etag).status_code == 200
    stale = _put(stamp, [], etag)
    assert stale.status_code == 412
    assert [a["partner_id"] for a in _read(stamp).json()["agreements"]] == ["devon-and-cornwall"]


def test_stale_etag_is_412_even_when_the_agreements_are_also_invalid(stamp):
    """The precondition is answered first: a stale list is 412 (read again), not a 422
    about partners the admin may already have fixed in the version they have not seen."""
    etag = _read(stamp).headers["etag"]
    agreements = [{"partner_id": "devon-and-cornwall", "level": "descriptions", "anpr": True}]
    assert _put(stamp, agreements, etag).status_code == 200
    invalid = [{"partner_id": "nobody-ltd", "level": "full"}]
    assert _put(stamp, invalid, _read(stamp).headers["etag"]).status_code == 422
    stale = _put(stamp, invalid, etag)
    assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"
    assert [a["partner_id"] for a in _read(stamp).json()["agreements"]] == ["devon-and-cornwall"]


def test_bad_partners_and_levels_are_422_and_change_nothing(stamp):
    before = _read(stamp)
    etag = before.headers["etag"]
    for agreements, field in [
        ([{"partner_id": "nobody-ltd", "level": "full"}], "agreements.0.partner_id"),
        ([{"partner_id": "koala-mart", "level": "counts"}], "agreements.0.partner_id"),  # homed in au
        ([{"partner_id": "northwind", "level": "counts"}], "agreements.0.partner_id"),  # itself
        ([{"partner_id": "vigil-platform", "level": "counts"}], "agreements.0.partner_id"),
        ([{"partner_id": "contoso", "level": "counts"}, {"partner_id": "contoso", "level": "full"}], "agreements.1.partner_id"),
        ([{"partner_id": "contoso", "level": "everything"}], "agreements.0.level"),
        ([{"partner_id": "contoso", "level": "full", "expires": "never"}], "agreements.0.expires"),
    ]:
        r = _put(stamp, agreements, etag)
        assert r.status_code == 422, (agreements, r.text)
        assert any(e["field"] == field for e in r.json()["errors"]), (field, r.json()["errors"])
    assert _read(stamp).json() == before.json()


def test_change_is_audited_in_the_owners_chain(stamp):
    etag = _read(stamp).headers["etag"]
    current = _read(stamp).json()["agreements"][0]
    _put(
        stamp,
        [{"partner_id": "devon-and-cornwall", "level": "full", "anpr": current["anpr"]}, {"partner_id": "contoso", "level": "counts"}],
        etag,
    )
    audit = stamp.client.get(
        "/api/v1/audit", params={"entity": "organisation/northwind/sharing"}, headers=stamp.auth("northwind", "Retailer.Admin")
    ).json()
    entry = audit["items"][0]
    assert entry["operation"] == "sharing.replace" and entry["action"] == "alteration"
    assert entry["fields"] == ["contoso"] and entry["actor_org"] == "northwind"
    assert audit["chain"]["verified"] is True


def test_other_organisations_get_404(stamp):
    assert _read(stamp, "northwind", "Retailer.Admin").status_code == 200
    r = stamp.client.get(URL.format("northwind"), headers=stamp.auth("contoso", "Retailer.Admin"))
    assert r.status_code == 404 and "devon-and-cornwall" not in r.text
    r = stamp.client.get(URL.format("devon-and-cornwall"), headers=stamp.auth("avon-and-somerset", "Police.Admin"))
    assert r.status_code == 404
    etag = _read(stamp).headers["etag"]
    r = stamp.client.put(
        URL.format("northwind"), json={"agreements": []}, headers={**stamp.auth("contoso", "Retailer.Admin"), "If-Match": etag}
    )
    assert r.status_code == 404
    assert len(_read(stamp).json()["agreements"]) == 1


def test_below_full_a_force_sees_no_witness_or_reporter_identity(stamp):
    incident = report(stamp).json()
    police = stamp.auth("devon-and-cornwall", "Police.Officer")
    url = f"/api/v1/incidents/{incident['id']}"
    etag = _read(stamp).headers["etag"]
    for level in ("none", "counts", "descriptions", "full"):
        r = _put(stamp, [{"partner_id": "devon-and-cornwall", "level": level}], etag)
        assert r.status_code == 200, r.text
        etag = r.headers["etag"]
        seen = stamp.client.get(url, params=PURPOSE, headers=police)
        if level in ("none", "counts"):
            assert seen.status_code == 404 and incident["reporter"]["name"] not in seen.text
            continue
        assert seen.status_code == 200, seen.text
        body = seen.json()
        if level == "full":
            assert body["reporter"]["name"] == incident["reporter"]["name"]
            assert [w["name"] for w in body["witnesses"]] == [w["name"] for w in incident["witnesses"]]
            continue
        assert body["reporter"]["name"] is None and body["reporter"]["phone"] is None
        assert body["reporter"]["job_title"] == incident["reporter"]["job_title"]
        assert all(w["name"] is None and w["contact"] is None for w in body["witnesses"])
        assert [w["statement"] for w in body["witnesses"]] == [w["statement"] for w in incident["witnesses"]]
        for w in incident["witnesses"]:
            assert w["name"] not in seen.text
        assert incident["reporter"]["name"] not in seen.text
