"""A force shares a court package with a prosecutor: the emailed link, the one-time code
given by phone, the download, the audit trail, revocation and expiry."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest

from shared.domain.disclosure import MAX_CODE_ATTEMPTS
from tests.console.conftest import Browser
from tests.disclosure.helpers import FORCE, LINK, SHARE, dispatched_incident, share_mails, text_of

OFFICER = "Police.Officer"


def _share(stamp, incident_id: str, **changes):
    return stamp.client.post(
        f"/api/v1/incidents/{incident_id}/package-shares", json={**SHARE, **changes}, headers=stamp.auth(FORCE, OFFICER)
    )


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


@pytest.fixture
def shared(stamp):
    incident = dispatched_incident(stamp)
    made = _share(stamp, incident["id"])
    assert made.status_code == 201, made.text
    return incident, made.json()


def test_share_emails_the_link_alone_and_the_code_opens_the_package_it_lists(stamp, shared):
    incident, made = shared
    mails = share_mails(stamp)
    assert len(mails) == 1 and mails[0]["To"] == SHARE["recipient_email"]
    text = text_of(mails[0])
    token = LINK.search(text).group(1)
    assert made["link"].endswith(f"/shared/{token}")
    assert made["code"] not in mails[0].as_string()  # the code goes by phone, never in the email
    assert "The link works until " in text and ("GMT" in text or "BST" in text)
    assert made["share"]["email_sent"] is True and made["share"]["status"] == "active"

    recipient = Browser(stamp)
    page = recipient.get(f"/shared/{token}")
    assert page.status_code == 200
    assert "Devon" in page.text and "Priya Shah" in page.text and "Enter your code" in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    # Before the code, nothing downloads.
    assert recipient.get(f"/shared/{token}/package").status_code == 401

    wrong = recipient.post(f"/shared/{token}/code", {"code": _wrong(made["code"])}, csrf=False)
    assert wrong.status_code == 422 and f"{MAX_CODE_ATTEMPTS - 1} tries left" in wrong.text

    right = recipient.post(f"/shared/{token}/code", {"code": made["code"]}, csrf=False)
    assert right.status_code == 303
    assert "Download the court package" in recipient.get(f"/shared/{token}").text
    got = recipient.get(f"/shared/{token}/package")
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    assert hashlib.sha256(got.content).hexdigest() == made["share"]["package_sha256"] == got.headers["X-Package-SHA256"]
    with zipfile.ZipFile(io.BytesIO(got.content)) as archive:
        manifest_bytes = archive.read("manifest.json")
        manifest = json.loads(manifest_bytes)
        for entry in manifest["files"]:
            assert hashlib.sha256(archive.read(entry["path"])).hexdigest() == entry["sha256"]
    assert hashlib.sha256(manifest_bytes).hexdigest() == made["share"]["manifest_sha256"]
    # The page listed every file the manifest names.
    for entry in manifest["files"]:
        assert entry["path"] in page.text

    # Another browser without the code (the link forwarded) cannot download.
    assert Browser(stamp).get(f"/shared/{token}/package").status_code == 401

    listing = stamp.client.get(
        f"/api/v1/incidents/{incident['id']}/package-shares",
        params={"purpose": "Checking who opened the link"},
        headers=stamp.auth(FORCE, OFFICER),
    )
    assert listing.status_code == 200
    (share,) = listing.json()["items"]
    seen = [a["what"] for a in share["accesses"] if a["what"] != "viewed"]
    assert seen == ["code_refused", "code_accepted", "downloaded"] and share["wrong_codes"] == 1
    assert share["accesses"][0]["what"] == "viewed"
    assert "code" not in share and "token_hash" not in share

    trail = stamp.client.get(
        "/api/v1/audit", params={"entity": f"incident/{incident['id']}", "limit": 100}, headers=stamp.auth(FORCE, "Police.Admin")
    )
    assert trail.status_code == 200, trail.text
    operations = {(e["operation"], e["actor_user"]) for e in trail.json()["items"]}
    actor = f"share-recipient:{SHARE['recipient_email']} ({SHARE['recipient_name']})"
    for op in ("package_share.viewed", "package_share.code_refused", "package_share.code_accepted", "package_share.downloaded"):
        assert (op, actor) in operations
    assert any(op == "package_share.created" for op, _ in operations)


def test_wrong_codes_lock_the_link_for_good(stamp, shared):
    _, made = shared
    token = made["link"].rsplit("/", 1)[1]
    recipient = Browser(stamp)
    for _ in range(MAX_CODE_ATTEMPTS - 1):
        assert recipient.post(f"/shared/{token}/code", {"code": _wrong(made["code"])}, csrf=False).status_code == 422
    locked = recipient.post(f"/shared/{token}/code", {"code": _wrong(made["code"])}, csrf=False)
    assert locked.status_code == 410 and "locked" in locked.text
    # Even the right code does nothing now.
    assert recipient.post(f"/shared/{token}/code", {"code": made["code"]}, csrf=False).status_code == 410
    assert recipient.get(f"/shared/{token}").status_code == 410


def test_revoked_link_answers_gone_and_its_package_is_deleted(stamp, shared):
    incident, made = shared
    token = made["link"].rsplit("/", 1)[1]
    recipient = Browser(stamp)
    assert recipient.post(f"/shared/{token}/code", {"code": made["code"]}, csrf=False).status_code == 303
    revoked = stamp.client.delete(
        f"/api/v1/incidents/{incident['id']}/package-shares/{made['share']['id']}", headers=stamp.auth(FORCE, OFFICER)
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    gone = recipient.get(f"/shared/{token}/package")
    assert gone.status_code == 410 and "withdrawn" in gone.text and "PK" not in gone.text
    assert recipient.get(f"/shared/{token}").status_code == 410
    assert list((stamp.data_dir / stamp.container.settings.region / "packages").rglob("share-*")) == []


def test_expired_link_answers_gone_and_the_sweep_deletes_its_package(stamp, shared):
    _, made = shared
    token = made["link"].rsplit("/", 1)[1]
    recipient = Browser(stamp)
    assert recipient.post(f"/shared/{token}/code", {"code": made["code"]}, csrf=False).status_code == 303
    stamp.clock.advance(days=14, seconds=1)
    gone = recipient.get(f"/shared/{token}/package")
    assert gone.status_code == 410 and "expired" in gone.text
    packages = stamp.data_dir / stamp.container.settings.region / "packages"
    assert [p for p in packages.rglob("share-*") if not p.name.endswith(".meta")]
    report = stamp.container.disclosure.upkeep.sweep(stamp.clock.now())
    assert report.counts["packages_removed"] == 1
    assert [p for p in packages.rglob("share-*") if not p.name.endswith(".meta")] == []


def test_unknown_link_is_404_and_leaves_nothing(stamp):
    assert Browser(stamp).get("/shared/" + "A" * 43).status_code == 404


def test_another_force_cannot_share_or_list_and_a_retailer_is_refused(stamp):
    incident = dispatched_incident(stamp)
    other = stamp.client.post(
        f"/api/v1/incidents/{incident['id']}/package-shares", json=SHARE, headers=stamp.auth("avon-and-somerset", OFFICER)
    )
    assert other.status_code == 404
    listing = stamp.client.get(
        f"/api/v1/incidents/{incident['id']}/package-shares",
        params={"purpose": "Looking"},
        headers=stamp.auth("avon-and-somerset", OFFICER),
    )
    assert listing.status_code == 404
    retailer = stamp.client.post(
        f"/api/v1/incidents/{incident['id']}/package-shares", json=SHARE, headers=stamp.auth("northwind", "Retailer.Investigator")
    )
    assert retailer.status_code == 403
    assert share_mails(stamp) == []


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"expires_in_days": 91}, "expires_in_days"),
        ({"recipient_email": "a@cps.example, b@cps.example"}, "recipient_email"),
        ({"purpose": ""}, "purpose"),
    ],
)
def test_bad_share_is_422_naming_the_field_and_sends_nothing(stamp, changes, field):
    incident = dispatched_incident(stamp)
    bad = _share(stamp, incident["id"], **changes)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert field in bad.text
    assert share_mails(stamp) == []


def test_erasing_the_incident_erases_its_shares_and_their_packages_and_the_link_then_opens_nothing(stamp, shared):
    incident, made = shared
    token = made["link"].rsplit("/", 1)[1]
    c = stamp.container
    # Past every period that keeps the evidence write-once, as when retention erases a report.
    stamp.clock.advance(days=3660)
    with c.records.unit_of_work() as uow:
        c.retention.deletion.delete_incident(uow, "northwind", incident["id"], principal=None, cause="erasure")
    assert list((stamp.data_dir / c.settings.region / "packages").rglob("share-*")) == []
    assert Browser(stamp).get(f"/shared/{token}").status_code == 404
    with c.records.read_only() as uow:
        assert uow.query("package_shares", None, [], limit=10).items == []


def test_wrong_codes_sent_at_once_still_lock_after_exactly_five(stamp, shared):
    from concurrent.futures import ThreadPoolExecutor

    from shared.domain.errors import Gone, Invalid

    _, made = shared
    token = made["link"].rsplit("/", 1)[1]
    recipient = stamp.container.disclosure.recipient

    def guess(_):
        try:
            recipient.enter_code(token, _wrong(made["code"]))
        except Invalid:
            return "wrong"
        except Gone:
            return "gone"
        return "accepted"

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(guess, range(8)))
    assert answers.count("wrong") == MAX_CODE_ATTEMPTS - 1 and answers.count("gone") == 8 - (MAX_CODE_ATTEMPTS - 1)
    with stamp.container.records.read_only() as uow:
        (doc,) = uow.query("package_shares", None, [], limit=2).items
    assert doc["wrong_codes"] == MAX_CODE_ATTEMPTS and doc["status"] == "locked"
