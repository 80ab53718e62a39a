"""The recipient's side of a share: open the link, give the one-time code, download.

The recipient has no Vigil account. The link's token names the share; the right code
gives a download grant of its own (a random value held in a cookie scoped to the link,
stored only as a hash, valid GRANT_MINUTES), never a console session. Every view, code
attempt and download is audited in the sharing force's trail with the recipient named."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shared.domain.disclosure import (
    GRANT_MINUTES,
    MAX_CODE_ATTEMPTS,
    RECIPIENT_KIND_WORDS,
    ShareStatus,
    code_matches,
    status_at,
    token_hash,
)
from shared.domain.errors import Gone, Invalid, NotFound, PreconditionFailed, Unauthorized
from shared.domain.timestamps import from_iso, to_iso
from shared.records import PACKAGE_SHARES
from shared.services.disclosure.deps import DisclosureDeps, find_by_token, log_access
from shared.services.repository import body, etag, tenant

# Optimistic retries when two requests touch one share at once (a double-clicked form).
RETRIES = 5
# How long a storage URL handed to the recipient stays valid: long enough to start the
# download, short enough that a copied URL is soon useless.
URL_MINUTES = 5

GONE = {
    ShareStatus.EXPIRED: "This link has expired. Ask the officer who shared the package for a new one.",
    ShareStatus.REVOKED: "This link was withdrawn by the police force that shared it.",
    ShareStatus.LOCKED: "This link is locked after too many wrong codes. Ask the officer who shared the package for a new one.",
}


@dataclass(frozen=True)
class ShareForRecipient:
    """What the recipient sees on the link's page."""

    recipient_name: str
    recipient_organisation: str
    recipient_kind: str
    force_name: str
    reference: str
    purpose: str
    expires_at: str
    package_filename: str
    package_size: int
    package_sha256: str
    manifest_sha256: str
    manifest_files: list[dict[str, Any]]
    attempts_left: int
    granted: bool  # a right code was given in this browser and is still current


@dataclass(frozen=True)
class SharedDownload:
    """Either a storage URL to redirect to, or the bytes to stream."""

    filename: str
    size: int
    sha256: str
    url: str | None
    body: Iterator[bytes] | None


def _grant_hash(grant: str) -> str:
    return hashlib.sha256(b"vigil-share-grant\0" + grant.encode()).hexdigest()


class RecipientAccess:
    def __init__(self, deps: DisclosureDeps):
        self.deps = deps

    def _change(self, token: str, change) -> Any:
        """Apply `change(doc)` to the share the token names and write it back under its
        ETag; raises Gone for an ended share and NotFound for an unknown token."""
        deps = self.deps
        hashed = token_hash(token)
        for _ in range(RETRIES):
            with deps.records.unit_of_work() as uow:
                found = find_by_token(uow, hashed)
                if found is None:
                    raise NotFound("This link is not known. Check it was copied whole from the email.")
                owner, tag, doc = tenant(found), etag(found), body(found)
                status = status_at(doc, deps.clock.now())
                if status is not ShareStatus.ACTIVE:
                    raise Gone(GONE[status])
                try:
                    result = change(uow, doc)
                    uow.replace(PACKAGE_SHARES.name, owner, doc, if_match=tag)
                except PreconditionFailed:
                    continue
                return result
        raise PreconditionFailed("The share changed while this request was handled; try again.")

    def _granted(self, doc: dict[str, Any], grant: str | None) -> bool:
        held, until = doc.get("grant_hash"), doc.get("grant_until")
        if not (grant and held and until):
            return False
        return hmac.compare_digest(_grant_hash(grant), held) and from_iso(until) > self.deps.clock.now()

    def view(self, token: str, grant: str | None = None) -> ShareForRecipient:
        """The share's page: who shared what with whom, until when, and its manifest."""

        def seen(uow, doc):
            log_access(self.deps, uow, doc, "package_share.viewed")
            return doc

        doc = self._change(token, seen)
        force = self.deps.directory.organisation(doc["force_id"])
        return ShareForRecipient(
            recipient_name=doc["recipient_name"],
            recipient_organisation=doc["recipient_organisation"],
            recipient_kind=RECIPIENT_KIND_WORDS.get(doc["recipient_kind"], doc["recipient_kind"]),
            force_name=force.name if force else doc["force_id"],
            reference=doc.get("incident_reference") or doc["incident_id"],
            purpose=doc["purpose"],
            expires_at=doc["expires_at"],
            package_filename=doc["package_filename"],
            package_size=doc["package_size"],
            package_sha256=doc["package_sha256"],
            manifest_sha256=doc["manifest_sha256"],
            manifest_files=list(doc.get("manifest_files") or []),
            attempts_left=MAX_CODE_ATTEMPTS - int(doc.get("wrong_codes", 0)),
            granted=self._granted(doc, grant),
        )

    def enter_code(self, token: str, code: str) -> str:
        """Check the one-time code (constant time). Right: a download grant (returned once,
        kept as a hash). Wrong: 422 with the tries left; the last wrong try locks the share
        for good (410 from then on)."""
        deps = self.deps
        code = (code or "").strip()
        outcome: dict[str, Any] = {}

        def attempt(uow, doc):
            if code_matches(code, doc["code_salt"], doc["code_hash"]):
                grant = secrets.token_urlsafe(32)
                doc["grant_hash"] = _grant_hash(grant)
                doc["grant_until"] = to_iso(deps.clock.now() + timedelta(minutes=GRANT_MINUTES))
                log_access(deps, uow, doc, "package_share.code_accepted")
                outcome["grant"] = grant
                return
            doc["wrong_codes"] = int(doc.get("wrong_codes", 0)) + 1
            left = MAX_CODE_ATTEMPTS - doc["wrong_codes"]
            if left <= 0:
                doc["status"] = ShareStatus.LOCKED.value
                doc["locked_at"] = to_iso(deps.clock.now())
                doc["package_until"] = to_iso(deps.clock.now())
                log_access(deps, uow, doc, "package_share.locked")
            else:
                log_access(deps, uow, doc, "package_share.code_refused")
            outcome["left"] = left

        self._change(token, attempt)
        if "grant" in outcome:
            return str(outcome["grant"])
        if outcome["left"] <= 0:
            raise Gone(GONE[ShareStatus.LOCKED])
        raise Invalid(
            f"That code is not right. {outcome['left']} tries left before the link locks.",
            errors=[{"field": "code", "message": "not the code for this link"}],
            attempts_left=outcome["left"],
        )

    def download(self, token: str, grant: str | None) -> SharedDownload:
        """The package, for a holder of a current grant: a short-lived storage URL where
        the store gives one (Azure), else the bytes streamed by the app."""
        deps = self.deps

        def fetch(uow, doc):
            if not self._granted(doc, grant):
                raise Unauthorized("Enter the code for this link before downloading (a code is good for 30 minutes).")
            log_access(deps, uow, doc, "package_share.downloaded")
            return doc

        doc = self._change(token, fetch)
        valid_for = min(timedelta(minutes=URL_MINUTES), from_iso(doc["expires_at"]) - deps.clock.now())
        url = deps.packages.download_url(
            doc["package_key"], valid_for=valid_for, filename=doc["package_filename"], content_type="application/zip"
        )
        return SharedDownload(
            filename=doc["package_filename"],
            size=doc["package_size"],
            sha256=doc["package_sha256"],
            url=url,
            body=None if url else deps.packages.open(doc["package_key"]),
        )
