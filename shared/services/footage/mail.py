"""The store's emails about a request (asked, reminder, withdrawn), sent from the
`footage_mail` queue the outbox fills: rendered from the request as it stands when sent."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from typing import Any

from shared.domain.d2p_email import local_time, region_time_zone
from shared.domain.footage import FootageRequest
from shared.domain.mail import Email
from shared.domain.timestamps import to_iso
from shared.ports import PermanentMailError
from shared.records import FOOTAGE_REQUESTS
from shared.services.footage.deps import FootageDeps
from shared.services.repository import load

log = logging.getLogger("vigil.footage")

SUBJECTS = {
    "asked": "Footage request from {force}: crime reference {ref}",
    "reminder": "Reminder: footage for crime reference {ref} is due {deadline}",
    "withdrawn": "Withdrawn: footage request for crime reference {ref}",
}
OPENING = {
    "asked": "{force} asks {store} for CCTV footage for a crime it is investigating.",
    "reminder": "{force} is still waiting for footage from {store}; it is due {deadline}.",
    "withdrawn": "{force} has withdrawn its request for footage from {store}: nothing more is needed.",
}


def request_email(request: FootageRequest, *, kind: str, force: str, store: str, to: str, sender: str, region: str, base_url: str) -> Email:
    """The email a store receives about `request`: the crime reference, the window and the
    deadline in the region's local time, what is wanted, who asks, and where to answer."""
    tz = region_time_zone(region)
    deadline = local_time(to_iso(request.deadline), tz)
    words = {"force": force, "store": store, "ref": request.crime_reference, "deadline": deadline}
    link = f"{base_url.rstrip('/')}/footage-requests/{request.id}"
    lines = [
        ("Crime reference", request.crime_reference),
        ("Requested by", force),
        ("Store", store),
        ("Footage from", local_time(to_iso(request.window_start), tz)),
        ("Footage to", local_time(to_iso(request.window_end), tz)),
        ("Needed by", deadline),
        ("What is wanted", request.wanted),
    ]
    if request.withdrawn_reason and kind == "withdrawn":
        lines.append(("Reason", request.withdrawn_reason))
    opening = OPENING[kind].format(**words)
    action = "" if kind == "withdrawn" else f"Answer it (upload the footage, or decline with a reason) in Vigil: {link}"
    text = "\n".join([opening, "", *(f"{k}: {v}" for k, v in lines), "", action]).rstrip() + "\n"
    rows = "".join(f'<tr><th scope="row">{html.escape(k)}</th><td>{html.escape(v)}</td></tr>' for k, v in lines)
    link_html = "" if kind == "withdrawn" else f'<p><a href="{html.escape(link)}">Answer the request in Vigil</a></p>'
    page = f'<!doctype html><html lang="en"><body><p>{html.escape(opening)}</p><table>{rows}</table>{link_html}</body></html>'
    return Email(
        to=to,
        sender=sender,
        subject=SUBJECTS[kind].format(**words),
        text=text,
        html=page,
        message_id=f"footage-{request.id}-{kind}@vigil",
        custom_args={"footage_request_id": request.id, "owner_org": request.organisation_id},
    )


@dataclass
class FootageMail:
    deps: FootageDeps

    def handle(self, body: dict[str, Any]) -> str:
        """Send one owed email. A store with no contact address gets none (it sees the request
        in the console); a request since removed needs none. A transient mail error raises,
        so the queue retries (the message id makes a retry the same email); an address the
        provider refuses is logged, not retried."""
        deps = self.deps
        with deps.records.read_only() as uow:
            doc = uow.get(FOOTAGE_REQUESTS.name, str(body["tenant"]), str(body["request_id"]))
        if doc is None:
            return "gone"
        request = load(FootageRequest, doc).record
        store = deps.directory.store(request.store_id)
        if store is None or not store.contact_email:
            log.info("footage request email not sent: the store has no contact address", extra={"footage_request_id": request.id})
            return "no_address"
        force = deps.directory.organisation(request.force_id)
        email = request_email(
            request,
            kind=str(body["kind"]),
            force=force.name if force else request.force_id,
            store=store.name,
            to=store.contact_email,
            sender=deps.mail_from,
            region=deps.region,
            base_url=deps.region_base_url,
        )
        try:
            deps.mail.send(email)
        except PermanentMailError:
            # The provider refuses the address: retrying cannot help, and the store still
            # sees the request in the console (its admin corrects the store's contact).
            log.warning("footage request email refused by the mail provider", extra={"footage_request_id": request.id})
            return "undeliverable"
        return "sent"
