"""The audit hash chain, pure: an edited, removed, inserted or reordered entry is named."""

from __future__ import annotations

import copy

from shared.domain.audit import AUDIT_CHAIN, ChainKeys, checkpoint_problem, first_broken_link, head_problem
from shared.domain.audit import link_hash as keyed_link_hash

KEYS = ChainKeys({"k1": b"k" * 32}, "k1")


def link_hash(prev: str, seq: int, entry: dict) -> str:
    return keyed_link_hash(KEYS, prev, seq, entry)


def chain(n: int) -> list[dict]:
    entries, prev = [], ""
    for seq in range(1, n + 1):
        e = {
            "id": f"e{seq}",
            "at": f"2026-11-23T12:00:{seq:02d}.000000+00:00",
            "actor_user": "nw-investigator",
            "actor_org": "northwind",
            "actor_role": "Retailer.Investigator",
            "action": "consultation",
            "operation": "incident.read",
            "entity": "incident/abc",
            "fields": [],
            "subjects": [],
            "purpose": None,
            "recipient_org": None,
            "chain": AUDIT_CHAIN,
            "seq": seq,
            "prev_hash": prev,
            "key_id": "k1",
        }
        e["hash"] = link_hash(prev, seq, e)
        prev = e["hash"]
        entries.append(e)
    return entries


def test_an_untouched_chain_verifies():
    assert first_broken_link(KEYS, chain(6)) is None
    assert first_broken_link(KEYS, []) is None


def test_a_later_page_verifies_from_its_predecessors_hash():
    entries = chain(6)
    assert first_broken_link(KEYS, entries[3:], entries[2]["hash"]) is None
    assert first_broken_link(KEYS, entries[3:], "0" * 64)["seq"] == 4


def test_an_edited_entry_is_named():
    entries = chain(5)
    entries[2]["actor_user"] = "someone-else"
    assert first_broken_link(KEYS, entries) == {"seq": 3, "id": "e3", "reason": "content does not match its hash"}


def test_an_edit_with_its_hash_recomputed_breaks_the_next_link():
    entries = chain(5)
    entries[2]["purpose"] = "made up later"
    entries[2]["hash"] = link_hash(entries[2]["prev_hash"], 3, entries[2])
    assert first_broken_link(KEYS, entries) == {"seq": 4, "id": "e4", "reason": "does not link to the previous entry"}


def test_a_removed_entry_is_named_by_its_number():
    entries = chain(5)
    del entries[1]
    broken = first_broken_link(KEYS, entries)
    assert broken["seq"] == 2 and broken["id"] is None and "missing" in broken["reason"]


def test_reordered_entries_are_named():
    entries = chain(5)
    entries[1], entries[2] = entries[2], entries[1]
    broken = first_broken_link(KEYS, entries)
    assert broken["seq"] == 2 and "missing" in broken["reason"]
    # Renumbering them to hide the swap breaks the hashes instead.
    swapped = copy.deepcopy(chain(5))
    swapped[1], swapped[2] = swapped[2], swapped[1]
    swapped[1]["seq"], swapped[2]["seq"] = 2, 3
    assert first_broken_link(KEYS, swapped) == {"seq": 2, "id": "e3", "reason": "does not link to the previous entry"}


def test_an_inserted_entry_is_named():
    entries = chain(4)
    forged = dict(entries[1], id="forged", seq=3)
    entries.insert(2, forged)
    broken = first_broken_link(KEYS, entries)
    assert broken["seq"] == 3 and broken["id"] == "forged"


def test_the_hash_covers_every_recorded_field():
    base = chain(1)[0]
    for field, value in [
        ("actor_org", "contoso"),
        ("action", "disclosure"),
        ("entity", "incident/other"),
        ("fields", ["narrative"]),
        ("subjects", ["x"]),
        ("purpose", "p"),
        ("recipient_org", "avon-and-somerset"),
        ("at", "2027-01-01T00:00:00.000000+00:00"),
    ]:
        assert link_hash("", 1, {**base, field: value}) != base["hash"], field


def test_a_chain_linked_under_another_key_does_not_verify():
    entries = chain(3)
    other = ChainKeys({"k1": b"o" * 32}, "k1")
    assert first_broken_link(other, entries) == {"seq": 1, "id": "e1", "reason": "content does not match its hash"}
    retired = ChainKeys({"k2": b"k" * 32}, "k2")
    assert first_broken_link(retired, entries)["reason"] == "linked with an unknown chain key ('k1')"


def test_a_walk_must_reach_the_head_and_the_checkpoint():
    entries = chain(5)
    last = entries[-1]
    assert head_problem(5, last["hash"], {"seq": 5, "hash": last["hash"]}) is None
    assert head_problem(3, entries[2]["hash"], {"seq": 5, "hash": last["hash"]})["seq"] == 4
    assert "does not match" in head_problem(5, last["hash"], {"seq": 5, "hash": "other"})["reason"]
    assert head_problem(0, "", None) is None and head_problem(2, "h", None)["reason"] == "the chain head is missing"
    checkpoint = {"number": 2, "seq": 4, "hash": entries[3]["hash"]}
    assert checkpoint_problem(5, entries[3]["hash"], checkpoint) is None
    assert checkpoint_problem(3, None, checkpoint)["reason"] == "the chain ends at entry 3 but checkpoint 2 published entry 4"
    assert checkpoint_problem(5, "rewritten", checkpoint)["reason"] == "entry 4 differs from what checkpoint 2 published"
