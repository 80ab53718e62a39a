"""Merging two profiles of the same person, and unmerging: each incident person of the
merged profile is relinked through the incidents service (their versions and audit kept),
and what the merge changed is recorded so that unmerging restores both exactly."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.errors import Conflict, Invalid, NotFound
from shared.domain.offenders import ListingStatus, MergeRecord, PersonOfInterest
from shared.domain.tenancy import Principal
from shared.records import INCIDENTS, OFFENDER_VERSIONS
from shared.services.offenders.deps import OffenderDeps, check_if_match, find_own, set_offender, version_id, write
from shared.services.offenders.listing import Saved, linked_incidents, plates_of


@dataclass
class Merging:
    """POST /offenders/{id}/merge-into/{into_id} and /offenders/{id}/unmerge."""

    deps: OffenderDeps

    def merge(self, principal: Principal, offender_id: str, into: str, if_match: str | None) -> Saved:
        """Merge profile `offender_id` into `into`: its incident persons are named `into`,
        `into` gains its incidents, name and aliases, and it becomes `merged`."""
        if into == offender_id:
            raise Invalid("A profile cannot be merged into itself.", errors=[{"field": "into_id"}])
        org = principal.organisation_id
        with self.deps.records.unit_of_work() as uow:
            stored = find_own(uow, principal, offender_id)
            check_if_match(stored, if_match)
            try:
                target = find_own(uow, principal, into)
            except NotFound as exc:
                raise NotFound(f"Person of interest {into} was not found.") from exc
            source = stored.record
            if ListingStatus.MERGED in (source.status, target.record.status):
                raise Conflict("Only profiles not already merged can be merged.")
            persons: list[str] = []
            for incident_id in source.incident_ids:
                doc = uow.get(INCIDENTS.name, org, incident_id)
                for index, person in enumerate((doc or {}).get("persons", [])):
                    if person.get("offender_id") == source.id:
                        set_offender(self.deps, uow, principal, incident_id, index, target.record.id)
                        persons.append(f"{incident_id}#{index}")
            kept = target.record
            incidents_added = sorted(set(source.incident_ids) - set(kept.incident_ids))
            names = [n for n in (source.name, *source.aliases) if n and n != kept.name]
            aliases_added = [a for a in dict.fromkeys(names) if a not in kept.aliases]
            images_added = [e for e in source.image_evidence_ids if e not in kept.image_evidence_ids]
            incident_ids = sorted({*kept.incident_ids, *incidents_added})
            merged_into = kept.model_copy(
                update={
                    "incident_ids": incident_ids,
                    "aliases": [*kept.aliases, *aliases_added],
                    "plates": plates_of(linked_incidents(uow, org, incident_ids)),
                    "image_evidence_ids": [*kept.image_evidence_ids, *images_added],
                    "version": kept.version + 1,
                }
            )
            write(
                self.deps,
                uow,
                principal,
                merged_into,
                etag=target.etag,
                note=f"merged {source.id} into this profile",
                operation="offender.merge",
                fields=["incident_ids", "aliases", "plates", "image_evidence_ids"],
            )
            record = MergeRecord(
                into=kept.id,
                persons=persons,
                incidents_added=incidents_added,
                aliases_added=aliases_added,
                images_added=images_added,
                version_before=source.version,
            )
            merged = source.model_copy(
                update={"status": ListingStatus.MERGED, "merged_into": kept.id, "merge_record": record, "version": source.version + 1}
            )
            etag = write(
                self.deps,
                uow,
                principal,
                merged,
                etag=stored.etag,
                note=f"merged into {kept.id}",
                operation="offender.merge",
                fields=["status", "merged_into"],
            )
        return Saved(merged, etag)

    def unmerge(self, principal: Principal, offender_id: str, if_match: str | None) -> Saved:
        """Undo a merge: the persons it relinked are named this profile again, the profile
        it went into loses what it gained, and this profile is as it was before."""
        org = principal.organisation_id
        with self.deps.records.unit_of_work() as uow:
            stored = find_own(uow, principal, offender_id)
            check_if_match(stored, if_match)
            merged = stored.record
            record = merged.merge_record
            if merged.status != ListingStatus.MERGED or record is None:
                raise Conflict(f"Person of interest {offender_id} is not merged.")
            target = find_own(uow, principal, record.into)
            if target.record.status == ListingStatus.MERGED:
                raise Conflict(f"{record.into} has since been merged into {target.record.merged_into}: unmerge that first.")
            for ref in record.persons:
                incident_id, _, index = ref.rpartition("#")
                if uow.get(INCIDENTS.name, org, incident_id) is not None:  # an erased incident stays gone
                    set_offender(self.deps, uow, principal, incident_id, int(index), merged.id)
            kept = target.record
            incident_ids = [i for i in kept.incident_ids if i not in record.incidents_added]
            restored_target = kept.model_copy(
                update={
                    "incident_ids": incident_ids,
                    "aliases": [a for a in kept.aliases if a not in record.aliases_added],
                    "plates": plates_of(linked_incidents(uow, org, incident_ids)),
                    "image_evidence_ids": [e for e in kept.image_evidence_ids if e not in record.images_added],
                    "version": kept.version + 1,
                }
            )
            write(
                self.deps,
                uow,
                principal,
                restored_target,
                etag=target.etag,
                note=f"unmerged {merged.id}",
                operation="offender.unmerge",
                fields=["incident_ids", "aliases", "plates"],
            )
            before = uow.get(OFFENDER_VERSIONS.name, org, version_id(merged.id, record.version_before))
            if before is None:
                raise Conflict(f"Version {record.version_before} of {merged.id} is no longer kept; it cannot be unmerged.")
            restored = PersonOfInterest.model_validate(before["snapshot"] | {"version": merged.version + 1})
            # Incidents erased while merged stay gone.
            restored = restored.model_copy(
                update={"incident_ids": [i for i in restored.incident_ids if uow.get(INCIDENTS.name, org, i) is not None]}
            )
            etag = write(
                self.deps,
                uow,
                principal,
                restored,
                etag=stored.etag,
                note=f"unmerged from {record.into}",
                operation="offender.unmerge",
                fields=["status", "merged_into"],
            )
        return Saved(restored, etag)
