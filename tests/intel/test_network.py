"""GET /offenders/{id}/network: co-offenders, shared vehicles, shared times and places."""

from __future__ import annotations

from datetime import date

from shared.domain.networks import EdgeKind, Link, grow
from tests.fixtures_http import both_backends
from tests.intel.helpers import API, DC, PURPOSE, list_person, person_ids, report


def _net(stamp, org: str, role: str, person: str, **params):
    return stamp.client.get(f"{API}/offenders/{person}/network", params=params, headers=stamp.auth(org, role))


def _gang(stamp):
    """A and B steal together in a silver Focus; C uses the same car elsewhere; D steals at
    the same store an hour after A and B; E offends with C (two hops from A)."""
    first = report(stamp, offender_ids=(None, None))
    a, b = person_ids(first)
    c = person_ids(report(stamp, plates=("WR21 XKD",), store_id="nw-exeter", occurred_at="2026-10-01T09:00:00+00:00"))[0]
    d = person_ids(report(stamp, plates=(), occurred_at="2026-11-20T15:30:00+00:00"))[0]
    e = person_ids(report(stamp, offender_ids=(c, None), plates=(), store_id="nw-exeter", occurred_at="2026-09-01T09:00:00+00:00"))[1]
    for p in (a, b, c, d, e):
        list_person(stamp, "northwind", p)
    return a, b, c, d, e


def _edges(body):
    return {(e["source"], e["target"], e["kind"]): e for e in body["edges"]}


def key(p):
    return f"person:northwind/{p}"


@both_backends
def test_co_offenders_vehicles_and_times_and_places_two_hops(stamp):
    a, b, c, d, e = _gang(stamp)
    r = _net(stamp, "northwind", "Retailer.Investigator", a)
    assert r.status_code == 200, r.text
    body = r.json()
    hops = {n["id"]: n["hop"] for n in body["nodes"]}
    assert hops[key(a)] == 0 and hops[key(b)] == 1 and hops["vehicle:WR21XKD"] == 1 and hops[key(d)] == 1
    assert hops[key(c)] == 2  # through the vehicle
    assert key(e) not in hops  # three hops away
    edges = _edges(body)
    co = edges[tuple(sorted((key(a), key(b)))) + ("co_offender",)]
    assert co["weight"] == 1 and co["incidents"][0]["reference"].startswith("NW-")
    assert (key(a), "vehicle:WR21XKD", "vehicle") in edges
    place = edges[tuple(sorted((key(a), key(d)))) + ("time_and_place",)]
    assert place["weight"] == 2  # both incidents named
    assert body["truncated"] is False
    one_hop = _net(stamp, "northwind", "Retailer.Investigator", a, hops=1).json()
    assert key(c) not in {n["id"] for n in one_hop["nodes"]}


def test_the_force_sees_it_others_do_not(stamp):
    a, b, c, d, e = _gang(stamp)
    r = _net(stamp, DC, "Police.Analyst", a, **PURPOSE)
    assert r.status_code == 200, r.text
    assert {n["id"] for n in r.json()["nodes"]} >= {key(a), key(b), key(c)}
    for org, role in (("contoso", "Retailer.Investigator"), ("avon-and-somerset", "Police.Analyst")):
        assert _net(stamp, org, role, a, **PURPOSE).status_code == 404
    assert _net(stamp, DC, "Police.Analyst", "off-nobody", **PURPOSE).status_code == 404


def test_persons_not_shown_in_rankings_are_not_shown_in_networks(stamp):
    a, b, c, d, e = _gang(stamp)
    list_person(stamp, "northwind", b, date_of_birth=date(2012, 5, 1))  # a minor
    force = _net(stamp, DC, "Police.Analyst", a, **PURPOSE).json()
    assert key(b) not in {n["id"] for n in force["nodes"]}
    own = _net(stamp, "northwind", "Retailer.Investigator", a).json()
    assert key(b) in {n["id"] for n in own["nodes"]}
    list_person(stamp, "northwind", a, status="contested")
    assert _net(stamp, "northwind", "Retailer.Investigator", a).status_code == 404


def test_the_graph_is_bounded():
    def star(node):
        return [Link(f"n{node}-{i}", EdgeKind.CO_OFFENDER, ((f"i{i}", f"R{i}"),)) for i in range(50)]

    g = grow("root", star, hops=2, max_nodes=20, max_edges=1000)
    assert len(g.hops) == 20 and g.truncated
    g = grow("root", star, hops=2, max_nodes=1000, max_edges=10)
    assert len(g.edges) == 10 and g.truncated
    assert len(g.hops) == 11  # every node has its edge
