"""A force shares an incident's court package with a named recipient outside Vigil, lists
its shares with their accesses, and revokes one.

The package is built once, when the share is made, into the package store (its SHA-256
and manifest kept on the share), so what the recipient downloads is exactly what the
officer disclosed and can be served straight from storage."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import tempfile
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.court_package import MANIFEST_NAME
from shared.domain.d2p_email import local_time, region_time_zone
from shared.domain.disclosure import (
    RECIPIENT_KIND_WORDS,
    PackageShareIn,
    ShareStatus,
    code_hash,
    expiry,
    new_code,
    new_token,
    status_at,
    token_hash,
)
from shared.domain.errors import NotFound
from shared.domain.mail import Email
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.ports import PermanentMailError, TransientMailError, Where, iterate_all
from shared.records import PACKAGE_SHARES
from shared.services.disclosure.deps import DisclosureDeps
from shared.services.disclosure.upkeep import drop_package
from shared.services.evidence.lookup import need_purpose
from shared.services.incidents import Located
from shared.services.repository import body, etag

log = logging.getLogger("vigil.disclosure")

MAIL_TEXT = "disclosure/share.txt"
MAIL_HTML = "disclosure/share.html"
# Spooled in memory up to this size while the package is written, then on local disk.
SPOOL_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class ShareMade:
    """A new share: its record as the force sees it, the link that was emailed and the
    one-time code, shown this once to the officer to give the recipient by phone."""

    share: dict[str, Any]
    link: str
    code: str


def share_view(doc: dict[str, Any], now) -> dict[str, Any]:
    """A share as the force sees it: never the token, the code or their hashes."""
    return {
        "id": doc["id"],
        "incident_id": doc["incident_id"],
        "recipient_name": doc["recipient_name"],
        "recipient_email": doc["recipient_email"],
        "recipient_organisation": doc["recipient_organisation"],
        "recipient_kind": doc["recipient_kind"],
        "purpose": doc["purpose"],
        "status": status_at(doc, now).value,
        "created_at": doc["created_at"],
        "created_by": doc["created_by"],
        "expires_at": doc["expires_at"],
        "revoked_at": doc.get("revoked_at"),
        "wrong_codes": doc.get("wrong_codes", 0),
        "email_sent": doc.get("email_sent", False),
        "package_sha256": doc["package_sha256"],
        "manifest_sha256": doc["manifest_sha256"],
        "package_size": doc["package_size"],
        "accesses": list(doc.get("accesses") or []),
    }


class PackageShares:
    def __init__(self, deps: DisclosureDeps):
        self.deps = deps

    def _locate(self, principal: Principal, incident_id: str) -> Located:
        """The incident, only for the force it was dispatched to: a force that sees it
        through a retailer's sharing agreement has not been given it to prosecute."""
        with self.deps.records.read_only() as uow:
            loc = self.deps.incidents.locate(uow, principal, incident_id)
        if not (principal.is_police and loc.dispatched_to_viewer):
            raise NotFound(f"Incident {incident_id} was not found.")
        return loc

    def share(self, principal: Principal, incident_id: str, ask: PackageShareIn) -> ShareMade:
        """Build the court package once, keep it for the share, email the recipient the
        link, and return the one-time code for the officer to pass on by phone."""
        deps = self.deps
        loc = self._locate(principal, incident_id)
        now = deps.clock.now()
        share_id = uuid.uuid4().hex
        key = f"share-{share_id}"
        expires_at = expiry(now, ask.expires_in_days)
        # Building records the force's read and the `exported` custody event on each item,
        # under the purpose the officer gave for this disclosure.
        pkg = deps.evidence.package.build(principal, incident_id, ask.purpose)
        digest, size, manifest = hashlib.sha256(), 0, None
        writer = deps.packages.writer(key, content_type="application/zip", retention_until=now, legal_hold=False)
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as copy:
            try:
                for chunk in pkg.body:
                    writer.write(chunk)
                    digest.update(chunk)
                    copy.write(chunk)
                    size += len(chunk)
                writer.commit()
            except BaseException:
                writer.abort()
                raise
            copy.seek(0)
            with zipfile.ZipFile(copy) as archive:
                manifest = json.loads(archive.read(MANIFEST_NAME))
        token, code, salt = new_token(), new_code(), secrets.token_hex(16)
        doc = {
            "id": share_id,
            "incident_id": incident_id,
            "incident_reference": loc.doc.get("reference"),
            "owner_org": loc.owner_org,
            "force_id": principal.organisation_id,
            "created_by": principal.user_id,
            "created_at": to_iso(now),
            "recipient_name": ask.recipient_name,
            "recipient_email": ask.recipient_email,
            "recipient_organisation": ask.recipient_organisation,
            "recipient_kind": ask.recipient_kind.value,
            "purpose": ask.purpose,
            "expires_at": to_iso(expires_at),
            "status": ShareStatus.ACTIVE.value,
            "token_hash": token_hash(token),
            "code_salt": salt,
            "code_hash": code_hash(code, salt),
            "wrong_codes": 0,
            "package_key": key,
            "package_until": to_iso(expires_at),
            "package_filename": pkg.filename,
            "package_sha256": digest.hexdigest(),
            "package_size": size,
            "manifest_sha256": pkg.manifest_sha256,
            "manifest_files": [{k: f.get(k) for k in ("path", "size", "sha256", "kind")} for f in (manifest or {}).get("files", [])],
            "accesses": [],
            "email_sent": False,
        }
        try:
            with deps.records.unit_of_work() as uow:
                uow.insert(PACKAGE_SHARES.name, loc.owner_org, doc)
                deps.audit.record(
                    uow,
                    owner_org=principal.organisation_id,
                    principal=principal,
                    action=AuditAction.DISCLOSURE,
                    operation="package_share.created",
                    entity=f"incident/{incident_id}",
                    subjects=[share_id],
                    purpose=ask.purpose,
                    recipient_org=ask.recipient_organisation,
                )
        except BaseException:
            deps.packages.delete(key)
            raise
        link = f"{deps.base_url.rstrip('/')}/shared/{token}"
        sent = self._email(doc, link, principal)
        if sent:
            with deps.records.unit_of_work() as uow:
                current = uow.get(PACKAGE_SHARES.name, loc.owner_org, share_id)
                if current is not None:
                    tag, doc = etag(current), body(current)
                    doc["email_sent"] = True
                    uow.replace(PACKAGE_SHARES.name, loc.owner_org, doc, if_match=tag)
        return ShareMade(share=share_view(doc, now), link=link, code=code)

    def _email(self, doc: dict[str, Any], link: str, principal: Principal) -> bool:
        """The link alone: the code goes by another channel, so a misdirected or read
        email opens nothing. False when the mail provider refused it (the officer sees
        that and can give the link by phone too, or revoke)."""
        deps = self.deps
        force = deps.directory.organisation(doc["force_id"])
        context = {
            "recipient_name": doc["recipient_name"],
            "force_name": force.name if force else doc["force_id"],
            "reference": doc.get("incident_reference") or doc["incident_id"],
            "kind": RECIPIENT_KIND_WORDS.get(doc["recipient_kind"], doc["recipient_kind"]),
            "link": link,
            # In the force's own zone: the recipient works with that force.
            "expires_at": local_time(doc["expires_at"], region_time_zone(force.home_region if force else "uk")),
            "purpose": doc["purpose"],
        }
        email = Email(
            to=doc["recipient_email"],
            sender=deps.mail_from,
            subject=f"Court package {context['reference']} shared with you by {context['force_name']}",
            text=deps.templates.render(MAIL_TEXT, **context),
            html=deps.templates.render(MAIL_HTML, **context),
            message_id=f"share-{doc['id']}@vigil",
            custom_args={"package_share_id": doc["id"]},
        )
        try:
            deps.mail.send(email)
        except (TransientMailError, PermanentMailError) as exc:
            log.warning("package share email not sent", extra={"share_id": doc["id"], "error": str(exc)[:200]})
            return False
        return True

    def list(self, principal: Principal, incident_id: str, purpose: str | None) -> list[dict[str, Any]]:
        """The force's shares of this incident, newest first, each with its accesses."""
        need_purpose(principal, purpose)
        deps = self.deps
        loc = self._locate(principal, incident_id)
        with deps.records.unit_of_work() as uow:
            docs = list(
                iterate_all(
                    uow,
                    PACKAGE_SHARES.name,
                    [loc.owner_org],
                    [Where("incident_id", "eq", incident_id), Where("force_id", "eq", principal.organisation_id)],
                    limit=100,
                )
            )
            deps.audit.record(
                uow,
                owner_org=principal.organisation_id,
                principal=principal,
                action=AuditAction.CONSULTATION,
                operation="package_share.listed",
                entity=f"incident/{incident_id}",
                purpose=purpose,
            )
        now = deps.clock.now()
        return [share_view(d, now) for d in sorted(docs, key=lambda d: d["created_at"], reverse=True)]

    def revoke(self, principal: Principal, incident_id: str, share_id: str) -> dict[str, Any]:
        """End a share now: the link answers 410 and the built package is deleted."""
        deps = self.deps
        loc = self._locate(principal, incident_id)
        now = deps.clock.now()
        with deps.records.unit_of_work() as uow:
            current = uow.get(PACKAGE_SHARES.name, loc.owner_org, share_id)
            if current is None or current["incident_id"] != incident_id or current["force_id"] != principal.organisation_id:
                raise NotFound(f"Share {share_id} was not found.")
            tag, doc = etag(current), body(current)
            if status_at(doc, now) in (ShareStatus.ACTIVE, ShareStatus.LOCKED):
                doc.update(status=ShareStatus.REVOKED.value, revoked_at=to_iso(now), revoked_by=principal.user_id)
                doc["package_until"] = to_iso(now)
                uow.replace(PACKAGE_SHARES.name, loc.owner_org, doc, if_match=tag)
                deps.audit.record(
                    uow,
                    owner_org=principal.organisation_id,
                    principal=principal,
                    action=AuditAction.ALTERATION,
                    operation="package_share.revoked",
                    entity=f"incident/{incident_id}",
                    subjects=[share_id],
                    purpose=doc["purpose"],
                    recipient_org=doc["recipient_organisation"],
                )
        # The package goes now; were this to fail, the sweep deletes it on its next run.
        drop_package(deps, loc.owner_org, share_id)
        return share_view(doc, now)
