"""Retention and subject-request rows of the authorization matrix (tests/http/test_authz_matrix.py).

Kept here so the matrix file only imports them. Each call first puts the object in the
state the owning side's request needs (a hold to release, a task to answer), through
the services, so every admitted role of the owning side gets a success.
"""

from __future__ import annotations

from typing import Any

from shared.domain.errors import Conflict, NotFound
from shared.domain.retention import RegionScheduleIn
from shared.domain.subject_requests import IdentityCheckIn, SubjectRequestIn, TaskAnswerIn
from shared.domain.tenancy import PLATFORM_TENANT, OrgKind, Principal, Role
from shared.records import ACCESS_GRANTS, SUBJECT_REQUESTS
from shared.services.retention.schedules import DEFAULT_ETAG, default_organisation_etag
from shared.services.subject_requests.identity import IDENTITY_CHECK

OPS_P = Principal(
    user_id="ops-1", organisation_id="vigil-platform", organisation_kind=OrgKind.PLATFORM, roles=frozenset({Role.PLATFORM_OPERATOR})
)
# Proposes the region schedule changes the matrix's operator approves (never the same person).
PROPOSER = Principal(
    user_id="ops-proposer", organisation_id="vigil-platform", organisation_kind=OrgKind.PLATFORM, roles=frozenset({Role.PLATFORM_OPERATOR})
)
NW_ADMIN = Principal(
    user_id="nw-admin", organisation_id="northwind", organisation_kind=OrgKind.RETAILER, roles=frozenset({Role.RETAILER_ADMIN})
)
NW_INV = Principal(
    user_id="nw-inv", organisation_id="northwind", organisation_kind=OrgKind.RETAILER, roles=frozenset({Role.RETAILER_INVESTIGATOR})
)


def _holder(org: str) -> Principal:
    if org in ("northwind", "vigil-platform"):
        return NW_INV
    return Principal(
        user_id=f"{org}-officer", organisation_id=org, organisation_kind=OrgKind.POLICE_FORCE, roles=frozenset({Role.POLICE_OFFICER})
    )


def retention_rows(Row, Call, prefix: str) -> dict[tuple[str, str], Any]:
    RR, RI, RA = Role.RETAILER_REPORTER.value, Role.RETAILER_INVESTIGATOR.value, Role.RETAILER_ADMIN.value
    PO, PN, OPS = Role.POLICE_OFFICER.value, Role.POLICE_ANALYST.value, Role.PLATFORM_OPERATOR.value
    del RR

    def c(ctx):
        return ctx.stamp.container

    def dispatched_incident(ctx) -> str:
        incident = ctx.incident()

        def grant():
            with c(ctx).records.unit_of_work() as uow:
                uow.insert(
                    ACCESS_GRANTS.name,
                    "devon-and-cornwall",
                    {"id": incident, "owner_org": "northwind", "incident_id": incident, "reason": "d2p"},
                )
            return incident

        return ctx.once("retention-grant", grant)

    def no_hold(ctx, org):
        incident = dispatched_incident(ctx)
        try:
            c(ctx).retention.holds.release(_holder(org), incident, "matrix: clear the hold first")
        except NotFound:
            pass
        return incident

    def a_hold(ctx, org):
        incident = dispatched_incident(ctx)
        try:
            c(ctx).retention.holds.place(_holder(org), incident, "matrix: a hold to release")
        except (Conflict, NotFound):  # already held, or an organisation that cannot hold it
            pass
        return incident

    def etag(ctx, tenant, id_):
        with c(ctx).records.unit_of_work() as uow:
            doc = uow.get("retention_schedules", tenant, id_)
        if doc:
            return f'"{doc["_etag"]}"'
        return f'"{DEFAULT_ETAG}"' if tenant == PLATFORM_TENANT else f'"{default_organisation_etag(tenant)}"'

    def deleted_incident(ctx) -> str:
        def make():
            body = {**ctx.stamp.example("IncidentIn")}
            r = ctx.stamp.client.post(f"{prefix}/incidents", json=body, headers=ctx.auth("northwind", RI))
            incident = r.json()["id"]
            with c(ctx).records.unit_of_work() as uow:
                c(ctx).retention.deletion.delete_incident(uow, "northwind", incident, principal=NW_INV, cause="erasure")
            return incident

        return ctx.once("retention-deleted", make)

    def named_incident(ctx) -> str:
        def make():
            body = {
                **ctx.stamp.example("IncidentIn"),
                "narrative": "matrix person",
                "persons": [{"role": "suspect", "name": "Matrix Person", "date_of_birth": "1988-02-03"}],
            }
            r = ctx.stamp.client.post(f"{prefix}/incidents", json=body, headers=ctx.auth("northwind", RI))
            assert r.status_code == 201, r.text
            return r.json()["id"]

        return ctx.once("retention-named", make)

    def request(ctx, key: str, approved: bool = False) -> str:
        def make():
            named_incident(ctx)
            person = {"name": "Matrix Person", "date_of_birth": "1988-02-03"}
            check = c(ctx).subject_requests.identity.record(NW_ADMIN, IdentityCheckIn(**person, method="photo_id_in_person"))
            out = c(ctx).subject_requests.requests.file(
                OPS_P,
                SubjectRequestIn(kind="access", **person, identity_check={"organisation_id": "northwind", "id": check.id}),
            )
            if approved:
                c(ctx).subject_requests.tasks.answer(NW_ADMIN, out.id, TaskAnswerIn(decision="approve_export"))
            return out.id

        return ctx.once(f"retention-request-{key}", make)

    def checked_request(ctx) -> dict[str, Any]:
        # The documented example names a fixed identity check and each request uses its
        # check up, so every call finds it recorded afresh (as northwind would record it).
        body = ctx.stamp.example("SubjectRequestIn")
        ref = body["identity_check"]
        with c(ctx).records.unit_of_work() as uow:
            uow.upsert(
                SUBJECT_REQUESTS.name,
                ref["organisation_id"],
                {
                    "id": ref["id"],
                    "record": IDENTITY_CHECK,
                    "organisation_id": ref["organisation_id"],
                    "name": body["name"],
                    "date_of_birth": body["date_of_birth"],
                    "method": "photo_id_in_person",
                    "verified_by": NW_ADMIN.user_id,
                    "verified_at": "2026-11-23T09:30:00.000000+00:00",
                    "request_id": None,
                },
            )
        return body

    def proposal(ctx) -> int:
        # A fresh proposal by another operator for every call: each is approved or cancelled once.
        return c(ctx).retention.schedules.propose_region(PROPOSER, RegionScheduleIn(**ctx.stamp.example("RegionScheduleIn"))).number

    def stats_params(org):
        params = {"from": "2026-01", "to": "2026-12"}
        if org == "vigil-platform":
            params["organisation"] = "northwind"
        return params

    return {
        ("GET", f"{prefix}/retention/schedules/region"): Row(
            allowed={OPS}, call=lambda ctx, org: Call("GET", f"{prefix}/retention/schedules/region")
        ),
        ("POST", f"{prefix}/retention/schedules/region/proposals"): Row(
            allowed={OPS},
            ok=(201,),
            call=lambda ctx, org: Call(
                "POST", f"{prefix}/retention/schedules/region/proposals", json=ctx.stamp.example("RegionScheduleIn")
            ),
        ),
        ("GET", f"{prefix}/retention/schedules/region/proposals"): Row(
            allowed={OPS}, call=lambda ctx, org: Call("GET", f"{prefix}/retention/schedules/region/proposals")
        ),
        ("POST", f"{prefix}/retention/schedules/region/proposals/{{number}}/approval"): Row(
            allowed={OPS},
            call=lambda ctx, org: Call("POST", f"{prefix}/retention/schedules/region/proposals/{proposal(ctx)}/approval"),
        ),
        ("POST", f"{prefix}/retention/schedules/region/proposals/{{number}}/cancellation"): Row(
            allowed={OPS},
            call=lambda ctx, org: Call(
                "POST",
                f"{prefix}/retention/schedules/region/proposals/{proposal(ctx)}/cancellation",
                json=ctx.stamp.example("ProposalCancellationIn"),
            ),
        ),
        ("GET", f"{prefix}/retention/schedules/region/versions"): Row(
            allowed={OPS}, call=lambda ctx, org: Call("GET", f"{prefix}/retention/schedules/region/versions")
        ),
        ("GET", f"{prefix}/retention/schedules/organisation"): Row(
            allowed={RA}, other="hidden", call=lambda ctx, org: Call("GET", f"{prefix}/retention/schedules/organisation")
        ),
        ("PUT", f"{prefix}/retention/schedules/organisation"): Row(
            allowed={RA},
            # Another organisation's If-Match (northwind's ETag) does not match its own schedule.
            other=412,
            call=lambda ctx, org: Call(
                "PUT",
                f"{prefix}/retention/schedules/organisation",
                json=ctx.stamp.example("OrganisationScheduleIn"),
                headers={"If-Match": etag(ctx, "northwind", "organisation")},
            ),
        ),
        ("GET", f"{prefix}/retention/schedules/organisation/versions"): Row(
            allowed={RA}, other="hidden", call=lambda ctx, org: Call("GET", f"{prefix}/retention/schedules/organisation/versions")
        ),
        ("GET", f"{prefix}/incidents/{{incident_id}}/legal-hold"): Row(
            allowed={RI, PO, PN}, call=lambda ctx, org: Call("GET", f"{prefix}/incidents/{dispatched_incident(ctx)}/legal-hold")
        ),
        ("POST", f"{prefix}/incidents/{{incident_id}}/legal-hold"): Row(
            allowed={RI, PO, PN},
            ok=(201,),
            call=lambda ctx, org: Call("POST", f"{prefix}/incidents/{no_hold(ctx, org)}/legal-hold", json=ctx.stamp.example("LegalHoldIn")),
        ),
        ("DELETE", f"{prefix}/incidents/{{incident_id}}/legal-hold"): Row(
            allowed={RI, PO, PN},
            call=lambda ctx, org: Call(
                "DELETE",
                f"{prefix}/incidents/{a_hold(ctx, org)}/legal-hold",
                params={"reason": "Trial concluded 2027-03-14; no appeal lodged"},
            ),
        ),
        ("GET", f"{prefix}/retention/tombstones"): Row(
            allowed={RA, RI}, other="hidden", call=lambda ctx, org: Call("GET", f"{prefix}/retention/tombstones")
        ),
        ("GET", f"{prefix}/retention/tombstones/{{incident_id}}"): Row(
            allowed={RA, RI}, call=lambda ctx, org: Call("GET", f"{prefix}/retention/tombstones/{deleted_incident(ctx)}")
        ),
        ("GET", f"{prefix}/retention/statistics"): Row(
            allowed={RA, RI, OPS},
            other="hidden",
            call=lambda ctx, org: Call("GET", f"{prefix}/retention/statistics", params=stats_params(org)),
        ),
        ("POST", f"{prefix}/subject-requests/identity-checks"): Row(
            allowed={RA},
            ok=(201,),
            other="hidden",
            call=lambda ctx, org: Call("POST", f"{prefix}/subject-requests/identity-checks", json=ctx.stamp.example("IdentityCheckIn")),
        ),
        ("POST", f"{prefix}/subject-requests"): Row(
            allowed={OPS},
            ok=(201,),
            call=lambda ctx, org: Call("POST", f"{prefix}/subject-requests", json=checked_request(ctx)),
        ),
        ("GET", f"{prefix}/subject-requests/{{request_id}}"): Row(
            allowed={OPS}, call=lambda ctx, org: Call("GET", f"{prefix}/subject-requests/{request(ctx, 'read')}")
        ),
        ("POST", f"{prefix}/subject-requests/{{request_id}}/extension"): Row(
            allowed={OPS},
            call=lambda ctx, org: Call(
                "POST", f"{prefix}/subject-requests/{request(ctx, 'extend')}/extension", json=ctx.stamp.example("ExtensionIn")
            ),
        ),
        ("GET", f"{prefix}/subject-tasks"): Row(
            allowed={RA}, other="hidden", call=lambda ctx, org: (request(ctx, "read"), Call("GET", f"{prefix}/subject-tasks"))[1]
        ),
        # Every retailer of the region gets a task under the request's id: another
        # organisation reads its own (no matches), never northwind's.
        ("GET", f"{prefix}/subject-tasks/{{request_id}}"): Row(
            allowed={RA}, other="hidden", call=lambda ctx, org: Call("GET", f"{prefix}/subject-tasks/{request(ctx, 'read')}")
        ),
        ("POST", f"{prefix}/subject-tasks/{{request_id}}/answer"): Row(
            allowed={RA},
            # Its own task lists no matches to export.
            other=422,
            call=lambda ctx, org: Call(
                "POST", f"{prefix}/subject-tasks/{request(ctx, 'answer')}/answer", json={"decision": "approve_export"}
            ),
        ),
        ("GET", f"{prefix}/subject-tasks/{{request_id}}/export"): Row(
            allowed={RA},
            # Nothing approved on its own task.
            other=409,
            call=lambda ctx, org: Call("GET", f"{prefix}/subject-tasks/{request(ctx, 'export', approved=True)}/export"),
        ),
    }
