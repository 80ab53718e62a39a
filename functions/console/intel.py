"""Intelligence pages: the repeat-offending ranking (`/intel`) and a person's network
(`/offenders/{id}/network`), drawn as server-rendered SVG with a deterministic layout and
a keyboard-readable list of its nodes and edges as the text alternative.

Each page calls the service the matching API route calls (functions/http/intel.py), with
the same principal and purpose, so the audit trail reads exactly as for the API. Police
say why they are looking first, as for every police read."""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from functions.console.deps import require_page
from functions.console.police import PURPOSES, stated_purpose
from functions.console.render import page
from functions.http.deps import ContainerDep
from shared.adapters.page_tokens import binding
from shared.domain.tenancy import Principal
from shared.services.intel import ANALYSTS

router = APIRouter(include_in_schema=False)

Analyst = Annotated[Principal, Depends(require_page(*ANALYSTS))]
OffenderId = Annotated[str, Path(min_length=1, max_length=64)]
PAGE_SIZE = 20
SIZE = 640
RINGS = {0: 0.0, 1: 150.0, 2: 275.0}
KIND_WORDS = {"co_offender": "offended together", "vehicle": "same vehicle", "time_and_place": "same store, within two hours"}
REASON_WORDS = {"count": "Incidents", "value": "Value of goods", "violence": "Violence", "recency": "Recency", "spread": "Spread"}


def _purpose(request: Request, who: Principal, action: str, purpose: str | None, other: str | None) -> tuple[str | None, Response | None]:
    """The stated purpose for a police read, or the prompt page asking for it."""
    if not who.is_police:
        return None, None
    stated, error = stated_purpose(purpose, other)
    if stated is not None:
        return stated, None
    prompt = page(
        request, "police/purpose.html", status=422 if error else 200, action=action, purposes=PURPOSES, error=error, other=other or ""
    )
    return None, prompt


def person_label(person: dict[str, Any]) -> str:
    """A person as the viewer may see them: the name when shared, else the description."""
    if person.get("name"):
        return str(person["name"])
    description = str(person.get("description") or "").strip()
    return description[:60] + ("…" if len(description) > 60 else "") if description else "Unnamed person"


@router.get("/intel")
def ranking(
    request: Request,
    c: ContainerDep,
    who: Analyst,
    purpose: Annotated[str | None, Query(max_length=500)] = None,
    other: Annotated[str | None, Query(max_length=500)] = None,
    page_token: Annotated[str | None, Query(alias="page", max_length=4000)] = None,
) -> Response:
    """Persons of interest ranked by the repeat-offending score, each with its reasons."""
    stated, prompt = _purpose(request, who, "/intel", purpose, other)
    if prompt is not None:
        return prompt
    bound_to = binding("GET /intel", who.organisation_id, who.user_id, [("purpose", stated or "")])
    ranked = c.intel.ranking.rank(who, limit=PAGE_SIZE, continuation=c.page_tokens.open(page_token, bound_to), purpose=stated)
    sealed = c.page_tokens.seal(ranked.continuation, bound_to)
    keep = {"purpose": stated} if stated else {}
    rows = [
        {
            "item": item,
            "label": person_label(item["person"]),
            "own": item["organisation_id"] == who.organisation_id,
            "network_url": f"/offenders/{item['person']['id']}/network" + (f"?{urlencode(keep)}" if keep else ""),
            "reasons": [{**r, "words": REASON_WORDS.get(r["reason"], r["reason"])} for r in item["reasons"]],
        }
        for item in ranked.items
    ]
    return page(
        request,
        "intel/ranking.html",
        rows=rows,
        police=who.is_police,
        first_page=page_token is None,
        first_url="/intel" + (f"?{urlencode(keep)}" if keep else ""),
        next_url=f"/intel?{urlencode({**keep, 'page': sealed})}" if sealed else None,
    )


def layout(nodes: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """Where each node is drawn: the person asked about in the middle, each hop on its own
    ring, nodes spaced evenly in the order of their ids, so a graph is drawn the same way
    every time."""
    centre = SIZE / 2
    out: dict[str, tuple[float, float]] = {}
    for hop in sorted({n["hop"] for n in nodes}):
        ring = sorted(n["id"] for n in nodes if n["hop"] == hop)
        radius = RINGS.get(hop, RINGS[2])
        for i, node_id in enumerate(ring):
            angle = 2 * math.pi * i / max(len(ring), 1) - math.pi / 2 + (0.3 if hop == 2 else 0.0)
            out[node_id] = (round(centre + radius * math.cos(angle), 1), round(centre + radius * math.sin(angle), 1))
    return out


@router.get("/offenders/{offender_id}/network")
def network(
    request: Request,
    c: ContainerDep,
    who: Analyst,
    offender_id: OffenderId,
    purpose: Annotated[str | None, Query(max_length=500)] = None,
    other: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """A person's network: the drawing, and the same nodes and edges as lists."""
    stated, prompt = _purpose(request, who, f"/offenders/{offender_id}/network", purpose, other)
    if prompt is not None:
        return prompt
    graph = c.intel.network.of(who, offender_id, purpose=stated)
    where = layout(graph["nodes"])
    labels = {n["id"]: (person_label(n["person"]) if n["kind"] == "person" else f"Vehicle {n['plate']}") for n in graph["nodes"]}
    nodes = [
        {
            **n,
            "label": labels[n["id"]],
            "x": where[n["id"]][0],
            "y": where[n["id"]][1],
            "profile_url": f"/offenders/{n['person']['id']}"
            if n["kind"] == "person" and n["person"]["organisation_id"] == who.organisation_id
            else None,
        }
        for n in graph["nodes"]
    ]
    edges = [
        {
            **e,
            "words": KIND_WORDS.get(e["kind"], e["kind"]),
            "source_label": labels[e["source"]],
            "target_label": labels[e["target"]],
            "x1": where[e["source"]][0],
            "y1": where[e["source"]][1],
            "x2": where[e["target"]][0],
            "y2": where[e["target"]][1],
        }
        for e in graph["edges"]
    ]
    start = next(n for n in nodes if n["id"] == graph["start"])
    return page(request, "intel/network.html", start=start, nodes=nodes, edges=edges, truncated=graph["truncated"], size=SIZE)
