"""An organisation's DPIA and record of processing: generated from the live configuration
on demand, each generation kept as a version under its content hash, one version
approved by the organisation's admin (the go-live stage `dpia_approved`), and every
version compared with the approved one, fact by fact and line by line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain import dpia
from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, NotFound
from shared.domain.tenancy import Organisation, Principal
from shared.domain.timestamps import from_iso
from shared.ports import UnitOfWork, Where
from shared.records import DPIA_VERSIONS
from shared.services.go_live.deps import HEAD_ID, GoLiveDeps, organisation
from shared.services.go_live.facts import collect
from shared.services.repository import body, etag

MAX_LISTED = 200  # versions a listing shows, newest first


@dataclass(frozen=True)
class Generated:
    """A generation's answer: the version (new, or the latest again when nothing changed)."""

    version: dict[str, Any]
    created: bool


def version_id(n: int) -> str:
    return f"{n:06d}"


@dataclass
class DpiaUseCase:
    deps: GoLiveDeps

    def generate(self, principal: Principal, org_id: str) -> Generated:
        """Read the live configuration and keep it as the next version, audited. When it
        states exactly what the latest version states, that version is the answer and
        nothing is written (so a generation on every visit does not pile up copies)."""
        org = organisation(self.deps, principal, org_id)
        now = self.deps.now()
        with self.deps.records.unit_of_work() as uow:
            facts = collect(self.deps, uow, org)
            sha = dpia.content_hash(facts)
            head = uow.get(DPIA_VERSIONS.name, org_id, HEAD_ID)
            latest = int(head["latest"]) if head else 0
            if latest:
                last = uow.get(DPIA_VERSIONS.name, org_id, version_id(latest))
                if last is not None and last["sha256"] == sha:
                    return Generated(self._view(uow, org, body(last)), created=False)
            n = latest + 1
            doc = {
                "id": version_id(n),
                "version": n,
                "generated_at": now,
                "generated_by": principal.user_id,
                "sha256": sha,
                "facts": facts,
                "markdown": dpia.markdown(org.name, org.id, n, now, principal.user_id, facts),
            }
            uow.insert(DPIA_VERSIONS.name, org_id, doc)
            new_head = {**(body(head) if head else {"id": HEAD_ID}), "latest": n}
            if head is None:
                uow.insert(DPIA_VERSIONS.name, org_id, new_head)
            else:
                uow.replace(DPIA_VERSIONS.name, org_id, new_head, if_match=etag(head))
            self._audit(uow, principal, org_id, "go_live.dpia.generate", n)
            return Generated(self._view(uow, org, doc, head=new_head), created=True)

    def versions(self, principal: Principal, org_id: str) -> list[dict[str, Any]]:
        """Every version's number, time, author, hash and approval, newest first."""
        org = organisation(self.deps, principal, org_id)
        with self.deps.records.read_only() as uow:
            head = uow.get(DPIA_VERSIONS.name, org.id, HEAD_ID)
            docs = uow.query(
                DPIA_VERSIONS.name, [org.id], [Where("version", "ge", 1)], order_by="version", descending=True, limit=MAX_LISTED
            ).items
        approved = head.get("approved_version") if head else None
        return [
            {
                "version": d["version"],
                "generated_at": d["generated_at"],
                "generated_by": d["generated_by"],
                "sha256": d["sha256"],
                "approved": d["version"] == approved,
            }
            for d in docs
        ]

    def version(self, principal: Principal, org_id: str, n: int) -> dict[str, Any]:
        """One version with its Markdown, its facts and its differences from the approved version."""
        org = organisation(self.deps, principal, org_id)
        with self.deps.records.read_only() as uow:
            doc = uow.get(DPIA_VERSIONS.name, org.id, version_id(n)) if n >= 1 else None
            if doc is None:
                raise NotFound(f"{org_id} has no DPIA version {n}.")
            return self._view(uow, org, body(doc))

    def pdf(self, principal: Principal, org_id: str, n: int) -> bytes:
        """The version laid out as PDF (dated when it was generated: the same bytes each time)."""
        view = self.version(principal, org_id, n)
        org = organisation(self.deps, principal, org_id)
        doc = dpia.as_document(org.name, org.id, n, view["generated_at"], view["sha256"], view["facts"])
        return self.deps.documents.render(doc, created_at=from_iso(view["generated_at"]))

    def approve(self, principal: Principal, org_id: str, n: int) -> dict[str, Any]:
        """The organisation's admin approves version `n`: it must be the latest and still
        state the live configuration (409 otherwise: approve what is true now). Completes
        the go-live stage `dpia_approved`; audited."""
        org = organisation(self.deps, principal, org_id, approving=True)
        now = self.deps.now()
        with self.deps.records.unit_of_work() as uow:
            head = uow.get(DPIA_VERSIONS.name, org.id, HEAD_ID)
            doc = uow.get(DPIA_VERSIONS.name, org.id, version_id(n)) if n >= 1 else None
            if head is None or doc is None:
                raise NotFound(f"{org_id} has no DPIA version {n}.")
            if int(head["latest"]) != n:
                raise Conflict(f"Version {n} is not the latest DPIA of {org_id} (version {head['latest']} is): approve that one.")
            if dpia.content_hash(collect(self.deps, uow, org)) != doc["sha256"]:
                raise Conflict(f"The configuration has changed since version {n} was generated: generate the DPIA again and approve that.")
            if head.get("approved_version") != n:
                new_head = {**body(head), "approved_version": n, "approved_by": principal.user_id, "approved_at": now}
                uow.replace(DPIA_VERSIONS.name, org.id, new_head, if_match=etag(head))
                self._audit(uow, principal, org.id, "go_live.dpia.approve", n)
                head = new_head
            return self._view(uow, org, body(doc), head=head)

    def live_changes(self, uow: UnitOfWork, org: Organisation) -> list[dict[str, Any]] | None:
        """The live configuration's differences from the approved version (None before any approval)."""
        head = uow.get(DPIA_VERSIONS.name, org.id, HEAD_ID)
        if head is None or head.get("approved_version") is None:
            return None
        approved = uow.get(DPIA_VERSIONS.name, org.id, version_id(int(head["approved_version"])))
        if approved is None:
            return None
        return dpia.fact_changes(approved["facts"], collect(self.deps, uow, org))

    def _view(self, uow: UnitOfWork, org: Organisation, doc: dict[str, Any], head: dict[str, Any] | None = None) -> dict[str, Any]:
        head = head if head is not None else uow.get(DPIA_VERSIONS.name, org.id, HEAD_ID)
        approved_n = head.get("approved_version") if head else None
        differences = None
        if approved_n == doc["version"]:
            differences = {"against_version": approved_n, "changes": [], "unified_diff": ""}
        elif approved_n is not None:
            approved = uow.get(DPIA_VERSIONS.name, org.id, version_id(int(approved_n)))
            if approved is not None:
                differences = {
                    "against_version": approved_n,
                    "changes": dpia.fact_changes(approved["facts"], doc["facts"]),
                    "unified_diff": dpia.unified_diff(
                        approved["markdown"], doc["markdown"], f"dpia-v{approved_n}.md", f"dpia-v{doc['version']}.md"
                    ),
                }
        mine = approved_n == doc["version"]
        return {
            "organisation_id": org.id,
            "version": doc["version"],
            "generated_at": doc["generated_at"],
            "generated_by": doc["generated_by"],
            "sha256": doc["sha256"],
            "approved": mine,
            "approved_by": head.get("approved_by") if head and mine else None,
            "approved_at": head.get("approved_at") if head and mine else None,
            "markdown": doc["markdown"],
            "facts": doc["facts"],
            "differences_from_approved": differences,
        }

    def _audit(self, uow: UnitOfWork, principal: Principal, org_id: str, operation: str, n: int) -> None:
        self.deps.audit.record(
            uow,
            owner_org=org_id,
            principal=principal,
            action=AuditAction.ALTERATION,
            operation=operation,
            entity=f"dpia/{org_id}/{n}",
            fields=["dpia"],
        )
