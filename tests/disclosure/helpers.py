"""A northwind report dispatched to devon-and-cornwall with CCTV and a still, and the
email a package share sends."""

from __future__ import annotations

import email
import re
from email import policy
from typing import Any

from tests.d2p.helpers import add_evidence, drain

FORCE = "devon-and-cornwall"
PURPOSE = "Preparing the case file for the CPS or court"
SHARE = {
    "recipient_name": "Priya Shah",
    "recipient_email": "priya.shah@cps.example",
    "recipient_organisation": "CPS South West",
    "recipient_kind": "cps",
    "purpose": "Charging decision for the CPS",
}
LINK = re.compile(r"https?://[^\s\"<>]*/shared/([A-Za-z0-9_-]+)")


def dispatched_incident(stamp) -> dict[str, Any]:
    """A report sent to devon-and-cornwall by D2P and delivered, with two evidence files."""
    body = stamp.example("IncidentIn")
    r = stamp.client.post("/api/v1/incidents", json=body, headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert r.status_code == 201, r.text
    incident = r.json()
    add_evidence(stamp, incident, "cctv", "suspect_image")
    sent = stamp.client.post(f"/api/v1/incidents/{incident['id']}/d2p", headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert sent.status_code in (200, 202), sent.text
    drain(stamp)
    return incident


def share_mails(stamp) -> list[email.message.EmailMessage]:
    """The package share emails in the outbox (the D2P ones left out)."""
    folder = stamp.data_dir / "outbox"
    found = []
    for path in sorted(folder.rglob("*.eml")) if folder.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if "Court package" in str(message["Subject"]):
            found.append(message)
    return found


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()
