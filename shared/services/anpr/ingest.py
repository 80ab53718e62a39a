"""Plate-read ingest: a camera system's batch is checked whole, stored, and matched against vehicles of interest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.anpr import (
    ReadBatchIn,
    ReadWindow,
    interest_holds,
    read_expiry_text,
    read_id,
    read_problems,
)
from shared.domain.audit import AuditAction
from shared.domain.errors import Forbidden, Invalid, PayloadTooLarge
from shared.domain.plates import normalise_plate
from shared.domain.tenancy import Principal
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import ANPR_HITS, ANPR_READS, VEHICLES
from shared.services import repository
from shared.services.anpr.common import (
    ALERTS_QUEUE,
    MATCH_CHUNK,
    AnprDeps,
    forces_matching,
    hashed_id,
    retention_days,
)


@dataclass
class Ingest:
    deps: AnprDeps

    def post_batch(self, principal: Principal, batch: ReadBatchIn) -> dict[str, Any]:
        """Store a batch of reads from a camera system and match it against vehicles of interest.

        The camera's token must name its stores (`stores` claim; 403 without): a read for
        any other store refuses the batch.

        The whole batch is checked before anything is written: a bad read refuses the batch
        (422, each bad read named by index). Re-sent reads (same store, camera, plate and
        moment) are stored once; a hit is made once per read and vehicle owner, and belongs
        to the vehicle's owner: the answer lists only hits new with this call on the poster's
        own vehicles. A failure part-way (503) may leave some reads stored: re-send the batch.
        """
        limit = self.deps.settings.anpr_max_batch_reads
        if len(batch.reads) > limit:
            raise PayloadTooLarge(f"A batch holds at most {limit} reads; this one has {len(batch.reads)}. Split it.", max_reads=limit)
        if not principal.stores:
            # A camera token that names no stores would otherwise post for every store of
            # its organisation: a stolen or misissued token must not fake reads anywhere.
            raise Forbidden(
                "This camera system's token has no `stores` claim and no stores are registered for its client id: "
                "a Device.Anpr token must name the stores it posts reads for, or the platform operator registers them.",
                missing_claim="stores",
            )
        org = principal.organisation_id
        now = self.deps.clock.now()
        stores = {s.id: s for s in self.deps.directory.stores_of(org)}
        # The batch is checked and its records built before the write transaction opens:
        # writers queue on one lock, so it is held only for the writes themselves.
        with self.deps.records.read_only() as snapshot:
            retention = retention_days(snapshot, self.deps.settings, org)
        errors: list[dict[str, Any]] = []
        docs: list[dict[str, Any]] = []
        received = to_iso(now)
        window = ReadWindow.at(now, retention_days=retention, max_patch_bytes=self.deps.settings.anpr_max_patch_bytes)
        allowed = principal.stores
        device = principal.user_id
        for i, read in enumerate(batch.reads):
            store = stores.get(read.store_id)
            if store is None or read.store_id not in allowed:
                errors.append(
                    {"field": f"reads.{i}.store_id", "message": f"store {read.store_id} is not one of this camera system's stores"}
                )
                continue
            captured = to_iso(read.captured_at)
            problems = read_problems(read, captured, window)
            if problems:
                errors.extend({"field": f"reads.{i}.{p.split(':', 1)[0]}", "message": p.split(": ", 1)[1]} for p in problems)
                continue
            plate = normalise_plate(read.plate)
            docs.append(
                {
                    "id": read_id(read.store_id, read.camera_id, plate, captured),
                    "plate": plate,
                    "plate_raw": read.plate,
                    "camera_id": read.camera_id,
                    "store_id": read.store_id,
                    "force_id": store.force_id,
                    "captured_at": captured,
                    "confidence": read.confidence,
                    "direction": read.direction,
                    "plate_image": read.plate_image,
                    "received_at": received,
                    "device": device,
                    "expires_at": read_expiry_text(captured, retention),
                }
            )
        if errors:
            bad = sorted({int(e["field"].split(".")[1]) for e in errors})
            raise Invalid(
                f"{len(bad)} of {len(batch.reads)} reads are not valid (indexes {', '.join(map(str, bad[:20]))}); the batch was refused and nothing was stored.",
                errors=errors[:200],
                bad_reads=bad,
            )
        # Matching only reads vehicles of interest, so it runs before anything is written.
        with self.deps.records.read_only() as snapshot:
            candidates = self._match(snapshot, org, docs, now) if docs else []
        # The audit entry, the hits and their alerts commit first, the reads after them in
        # batches of their own (`create_all`): a read is never stored before its collection
        # is in the trail. A failure part-way leaves at most the reads of whole batches stored;
        # the camera re-sends, its reads are stored once, and a hit is made once per read and
        # vehicle owner (its id is derived from both), so a re-send completes what was cut
        # short without alerting twice.
        with self.deps.records.unit_of_work() as uow:
            hit_new = uow.insert_many(ANPR_HITS.name, org, candidates) if candidates else []
            hits = [h for h, ok in zip(candidates, hit_new, strict=True) if ok]
            self.deps.audit.record(
                uow,
                owner_org=org,
                principal=principal,
                action=AuditAction.COLLECTION,
                operation="anpr.ingest",
                entity="anpr_read",
                fields=["plate", "camera_id", "store_id", "captured_at"],
                # Every read the batch carried: re-sent ones were collected again.
                subjects=list(dict.fromkeys(d["id"] for d in docs))[:1000],
            )
            # A hit is its vehicle owner's: the match is audited in the owner's chain, so a
            # retailer's trail never shows which of its reads met a force's list.
            by_owner: dict[str, list[str]] = {}
            for h in hits:
                by_owner.setdefault(h["vehicle_owner"], []).append(h["id"])
            for owner, ids in sorted(by_owner.items()):
                self.deps.audit.record(
                    uow,
                    owner_org=owner,
                    principal=principal,
                    action=AuditAction.COMBINATION,
                    operation="anpr.match",
                    entity="anpr_hit",
                    fields=["plate"],
                    subjects=ids,
                )
            # The alert is owed from the moment the hit exists: its message is written with
            # the hit, so a queue outage delays the alert (the outbox relay sends it) instead
            # of losing it.
            for h in hits:
                self.deps.outbox.put(uow, org, queue=ALERTS_QUEUE, message_id=f"hit-{h['id']}", body={"tenant": org, "hit_id": h["id"]})
        try:
            inserted = self.deps.records.create_all(ANPR_READS.name, org, docs) if docs else []
        finally:
            if hits:
                self.deps.outbox.relay_now(org, [f"hit-{h['id']}" for h in hits])
        stored = sum(inserted)
        index = {d["id"]: i for i, d in enumerate(docs)}
        # The poster hears only of hits on its own vehicles: a hit on a force's vehicle is
        # the force's, and a read made up to test a plate must learn nothing of its list.
        return {
            "accepted": len(docs),
            "stored": stored,
            "duplicates": len(docs) - stored,
            "hits": [{"id": h["id"], "read_index": index[h["read_id"]], "plate": h["plate"]} for h in hits if h["vehicle_owner"] == org],
        }

    def _match(self, uow: UnitOfWork, org: str, reads: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        """Hits for `reads`: one indexed `in` lookup for the batch's distinct plates."""
        owners = [org, *forces_matching(self.deps.directory, org)]
        plates = sorted({r["plate"] for r in reads})
        vehicles: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(plates), MATCH_CHUNK):
            chunk = plates[start : start + MATCH_CHUNK]
            # Ordered by plate so SQLite walks the (tenant, plate) index instead of the whole table.
            for v in iterate_all(uow, VEHICLES.name, owners, [Where("plate", "in", chunk)], order_by="plate", limit=1000):
                vehicles.setdefault(v["plate"], []).append(v)
        hits = []
        created = to_iso(now)
        for r in reads:
            for v in vehicles.get(r["plate"], ()):
                if not interest_holds(v, from_iso(r["captured_at"])):
                    continue
                owner = repository.tenant(v)
                hits.append(
                    {
                        # The listing time keeps the id from being worked out from a read id
                        # by anyone who cannot see the vehicle (ids appear in audit subjects).
                        "id": hashed_id(r["id"], owner, str(v.get("added_at", ""))),
                        "read_id": r["id"],
                        "plate": r["plate"],
                        "plate_raw": r["plate_raw"],
                        "camera_id": r["camera_id"],
                        "store_id": r["store_id"],
                        "force_id": r["force_id"],
                        "captured_at": r["captured_at"],
                        "confidence": r["confidence"],
                        "direction": r["direction"],
                        "vehicle_owner": owner,
                        "vehicle_reason": v["reason"],
                        "incident_ids": list(v.get("incident_ids", [])),
                        # Linked hits go with their incidents; unlinked ones by the ANPR-hit schedule.
                        "linked": bool(v.get("incident_ids")),
                        "created_at": created,
                    }
                )
        return hits
