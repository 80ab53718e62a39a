"""Person-of-interest rows of the authorization matrix (tests/http/test_authz_matrix.py).

Only a retailer's investigators work on profiles and suggestions. Rows that consume what
they act on (a suggestion confirmed or rejected, incidents listed) make fresh northwind
incidents naming a fresh person for every call; the other rows share one profile. Contoso,
the other side, is told each northwind object does not exist, and lists none of them.
"""

from __future__ import annotations

import uuid
from typing import Any

from shared.domain.tenancy import Role
from shared.records import OFFENDERS


def offender_rows(Row, Call, prefix: str) -> dict[tuple[str, str], Any]:
    RI = Role.RETAILER_INVESTIGATOR.value

    def pair(ctx) -> tuple[dict, dict]:
        """Two northwind incidents naming the same fresh person (no vehicle: one clean match)."""
        name = "Matrix " + "".join(chr(97 + int(c, 16)) for c in uuid.uuid4().hex[:10])
        made = []
        for _ in range(2):
            body = {
                **ctx.stamp.example("IncidentIn"),
                "vehicles": [],
                "persons": [{"role": "suspect", "name": name, "date_of_birth": "1991-02-03"}],
            }
            r = ctx.stamp.client.post(f"{prefix}/incidents", json=body, headers=ctx.auth("northwind", RI))
            assert r.status_code == 201, r.text
            made.append(r.json())
        return made[0], made[1]

    def suggestion(ctx) -> str:
        first, second = pair(ctx)
        return f"{second['id']}.0.{first['persons'][0]['offender_id']}"

    def listing(ctx) -> Any:
        """The request listing the first person of a fresh pair, with the second as a further link."""
        first, second = pair(ctx)
        body = {"links": [{"incident_id": second["id"], "person_index": 0}], "listing_reason": "Two thefts at Plymouth this month"}
        return Call("POST", f"{prefix}/incidents/{first['id']}/persons/0/listing", json=body)

    def profile(ctx) -> str:
        def create() -> str:
            call = listing(ctx)
            r = ctx.stamp.client.post(call.url, json=call.json, headers=ctx.auth("northwind", RI))
            assert r.status_code == 201, r.text
            return r.json()["id"]

        return ctx.once("poi-profile", create)

    def fresh_profile(ctx) -> str:
        call = listing(ctx)
        r = ctx.stamp.client.post(call.url, json=call.json, headers=ctx.auth("northwind", RI))
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def to_merge(ctx) -> Any:
        """A fresh profile to merge into the shared one."""
        pid = fresh_profile(ctx)
        return Call(
            "POST",
            f"{prefix}/offenders/{pid}/merge-into/{profile(ctx)}",
            headers={"If-Match": ctx.etag(OFFENDERS.name, "northwind", pid)},
        )

    def to_unmerge(ctx) -> Any:
        """A fresh profile merged into a fresh one (unmerging leaves the shared one alone)."""
        pid, into = fresh_profile(ctx), fresh_profile(ctx)
        etag = ctx.etag(OFFENDERS.name, "northwind", pid)
        r = ctx.stamp.client.post(f"{prefix}/offenders/{pid}/merge-into/{into}", headers={**ctx.auth("northwind", RI), "If-Match": etag})
        assert r.status_code == 200, r.text
        return Call("POST", f"{prefix}/offenders/{pid}/unmerge", headers={"If-Match": ctx.etag(OFFENDERS.name, "northwind", pid)})

    def current(ctx) -> dict[str, str]:
        return {"If-Match": ctx.etag(OFFENDERS.name, "northwind", profile(ctx))}

    def url(ctx, suffix: str = "") -> str:
        return f"{prefix}/offenders/{profile(ctx)}{suffix}"

    return {
        ("GET", f"{prefix}/offenders/suggestions"): Row(
            allowed={RI}, other="hidden", call=lambda ctx, org: (suggestion(ctx), Call("GET", f"{prefix}/offenders/suggestions"))[1]
        ),
        ("POST", f"{prefix}/offenders/suggestions/{{suggestion_id}}/confirm"): Row(
            allowed={RI}, call=lambda ctx, org: Call("POST", f"{prefix}/offenders/suggestions/{suggestion(ctx)}/confirm")
        ),
        ("POST", f"{prefix}/offenders/suggestions/{{suggestion_id}}/reject"): Row(
            allowed={RI}, call=lambda ctx, org: Call("POST", f"{prefix}/offenders/suggestions/{suggestion(ctx)}/reject")
        ),
        # Another retailer naming northwind's incidents is told they do not exist.
        ("POST", f"{prefix}/incidents/{{incident_id}}/persons/{{person_index}}/listing"): Row(
            allowed={RI}, ok=(201,), call=lambda ctx, org: listing(ctx)
        ),
        ("GET", f"{prefix}/offenders"): Row(
            allowed={RI}, other="hidden", call=lambda ctx, org: (profile(ctx), Call("GET", f"{prefix}/offenders"))[1]
        ),
        ("GET", f"{prefix}/offenders/{{offender_id}}"): Row(allowed={RI}, call=lambda ctx, org: Call("GET", url(ctx))),
        ("PATCH", f"{prefix}/offenders/{{offender_id}}"): Row(
            allowed={RI}, call=lambda ctx, org: Call("PATCH", url(ctx), json={"description": "Slim, grey hoodie"}, headers=current(ctx))
        ),
        ("POST", f"{prefix}/offenders/{{offender_id}}/review"): Row(
            allowed={RI},
            call=lambda ctx, org: Call(
                "POST", url(ctx, "/review"), json={"outcome": "upheld", "note": "Criteria still met"}, headers=current(ctx)
            ),
        ),
        ("POST", f"{prefix}/offenders/{{offender_id}}/merge-into/{{into_id}}"): Row(allowed={RI}, call=lambda ctx, org: to_merge(ctx)),
        ("POST", f"{prefix}/offenders/{{offender_id}}/unmerge"): Row(allowed={RI}, call=lambda ctx, org: to_unmerge(ctx)),
        ("GET", f"{prefix}/offenders/{{offender_id}}/versions"): Row(
            allowed={RI}, call=lambda ctx, org: Call("GET", url(ctx, "/versions"))
        ),
        ("POST", f"{prefix}/offenders/{{offender_id}}/revert"): Row(
            allowed={RI}, call=lambda ctx, org: Call("POST", url(ctx, "/revert"), json={"version": 1}, headers=current(ctx))
        ),
    }
