"""What retention and legal holds need from the locker: holding an incident's items,
erasing them with their incident or one at a time ahead of it, and dropping custody."""

from __future__ import annotations

from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.custody import CustodyEvent
from shared.domain.evidence import EvidenceItem
from shared.domain.exhibits import exhibit_sequence
from shared.domain.tenancy import Principal
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import EVIDENCE, EVIDENCE_UPLOADS, SEQUENCES
from shared.services.evidence import custody
from shared.services.evidence.deps import EvidenceDeps
from shared.services.evidence.lookup import stored_items
from shared.services.evidence.package_delivery import erase_built
from shared.services.repository import body, dump, load


def suspect_images(uow: UnitOfWork, owner_org: str, incident_id: str) -> list[dict[str, Any]]:
    """The incident's items of kind `suspect_image` (redacted copies keep the kind), as
    stored documents (oldest first), for retention to erase ahead of their incident."""
    docs = iterate_all(uow, EVIDENCE.name, [owner_org], [Where("incident_id", "eq", incident_id)], limit=100)
    found = [(load(EvidenceItem, d).record, d) for d in docs]
    return [doc for item, doc in sorted(found, key=lambda p: (p[0].created_at, p[0].id)) if item.is_suspect_image]


class Erasure:
    def __init__(self, deps: EvidenceDeps):
        self.deps = deps

    def set_legal_hold(
        self, uow: UnitOfWork, principal: Principal | None, owner_org: str, incident_id: str, held: bool, reason: str
    ) -> int:
        """Set or clear the hold on every item of an incident (custody `held`/`released`;
        the blob legal-hold flag in Azure). Returns how many items changed."""
        changed = 0
        for stored in stored_items(uow, owner_org, incident_id):
            item = stored.record
            if item.legal_hold == held:
                continue
            if not item.pending:
                # A pending item's bytes may not exist yet; settling it applies the flag
                # the record carries by then.
                self.deps.blobs.set_legal_hold(item.id, held)
            uow.replace(EVIDENCE.name, owner_org, dump(item.with_hold(held)), if_match=stored.etag)
            custody.record_event(
                uow,
                self.deps.chain_keys,
                owner_org,
                item.id,
                CustodyEvent.HELD if held else CustodyEvent.RELEASED,
                principal,
                at=self.deps.clock.now(),
                details={"reason": reason},
                system_actor="retention",
            )
            changed += 1
        return changed

    def erase_for_incident(self, uow: UnitOfWork, owner_org: str, incident_id: str, rule: str, *, keep_custody: bool = False) -> int:
        """Delete every item of an incident: bytes (refused with Conflict while an
        immutability period or legal hold protects them), records and custody. With
        `keep_custody`, custody stays and ends with a `deleted` event. Returns items erased."""
        deps = self.deps
        items = [s.record for s in stored_items(uow, owner_org, incident_id)]
        now = deps.clock.now()
        for item in items:
            refused = item.erasure_refused(now, incident_id=incident_id)
            if refused is not None:
                raise refused
        for item in items:
            deps.blobs.delete(item.id)
            if keep_custody:
                custody.record_event(
                    uow,
                    self.deps.chain_keys,
                    owner_org,
                    item.id,
                    CustodyEvent.DELETED,
                    None,
                    at=deps.clock.now(),
                    details={"rule": rule, "sha256": item.sha256},
                    system_actor="retention",
                )
            else:
                custody.drop_chain(uow, owner_org, item.id)
            uow.delete(EVIDENCE.name, owner_org, item.id)
            deps.audit.record(
                uow,
                owner_org=owner_org,
                principal=None,
                action=AuditAction.ERASURE,
                operation="evidence.erase",
                entity=f"evidence/{item.id}",
                purpose=rule,
                system_actor="retention",
            )
        for session in list(iterate_all(uow, EVIDENCE_UPLOADS.name, [owner_org], [Where("incident_id", "eq", incident_id)], limit=100)):
            deps.blobs.discard_staged(session["id"])
            uow.delete(EVIDENCE_UPLOADS.name, owner_org, session["id"])
        # Court packages built for readers hold copies of the files: they go too.
        erase_built(deps, incident_id)
        # The incident's exhibit numbering goes with it: nothing is left that names it.
        uow.delete(SEQUENCES.name, owner_org, exhibit_sequence(incident_id))
        return len(items)

    def erase_item(self, uow: UnitOfWork, owner_org: str, item: dict[str, Any], rule: str, *, custody_event: bool = True) -> None:
        """Delete one item ahead of its incident (a person-of-interest image): its bytes
        (refused with Conflict while a legal hold or immutability period protects them) and
        its record. Custody stays, ended with a `deleted` event, until the incident goes
        (`drop_custody`). Safe to repeat: bytes already gone are not an error."""
        record = EvidenceItem.model_validate(body(item))
        refused = record.erasure_refused(self.deps.clock.now())
        if refused is not None:
            raise refused
        self.deps.blobs.delete(record.id)
        if custody_event:
            custody.record_event(
                uow,
                self.deps.chain_keys,
                owner_org,
                record.id,
                CustodyEvent.DELETED,
                None,
                at=self.deps.clock.now(),
                details={"rule": rule, "sha256": record.sha256},
                system_actor="retention",
            )
        uow.delete(EVIDENCE.name, owner_org, record.id)

    def drop_custody(self, uow: UnitOfWork, owner_org: str, evidence_id: str) -> int:
        """Remove the custody chain of an item erased earlier (its incident is going now)."""
        return custody.drop_chain(uow, owner_org, evidence_id)
