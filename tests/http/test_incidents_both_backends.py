"""The incident, audit and sharing HTTP tests again, with the stamp on the Azure backend (Cosmos DB
on cosmosdb-server). tests/http/test_incidents.py and test_audit.py run them on SQLite;
the `stamp` fixture below replaces theirs for this module only.

The SQLite tamper test edits the database file by hand; its Cosmos twin here edits the
stored item through the SDK, as someone with data-plane write access could.
"""

from __future__ import annotations

import pytest

from shared.domain.audit import shard_index
from tests.fixtures_http import close_stamp, make_cosmos_stamp
from tests.http.test_audit import test_every_action_is_audited_and_chain_verifies  # noqa: F401
from tests.http.test_external_reference import (  # noqa: F401
    test_a_different_report_with_a_used_external_reference_is_409_naming_the_incident,
    test_the_same_external_reference_past_the_key_window_and_from_another_user_records_nothing,
)
from tests.http.test_idempotent_reports import (  # noqa: F401
    test_a_key_past_its_lifetime_no_longer_answers_and_is_swept,
    test_the_key_holds_no_copy_of_the_incident_and_a_retry_sees_a_correction,
)
from tests.http.test_incidents import (  # noqa: F401
    report,
    test_find_by_reference_and_unknown_filters_refused,
    test_history_and_revert,
    test_idempotent_replay_and_reuse_with_other_body,
    test_minor_never_shared_with_force_through_sharing,
    test_other_organisations_get_404_never_content,
    test_other_region_gets_421_with_home_url_and_writes_nothing,
    test_patch_needs_if_match_and_catches_stale_etag,
    test_police_search_needs_purpose,
    test_report_gives_reference_etag_and_location,
    test_search_filters_and_pages,
    test_special_category_and_unknown_fields_rejected,
)
from tests.http.test_sharing import (  # noqa: F401, E402
    test_bad_partners_and_levels_are_422_and_change_nothing,
    test_if_match_required_and_stale_etag_refused,
    test_withdrawing_sharing_hides_incidents_from_the_force,
)

pytestmark = pytest.mark.azure


@pytest.fixture
def stamp(tmp_path, cosmos_emulator):
    # Checkpoints on local files and the queue on SQLite, as every Cosmos stamp (fixtures_http).
    s = make_cosmos_stamp(tmp_path, cosmos_emulator)
    s.backend = "azure"
    yield s
    close_stamp(s)


def test_hand_edited_audit_item_is_named_on_cosmos(stamp):
    incident = report(stamp).json()
    inv = stamp.auth("northwind", "Retailer.Investigator")
    for _ in range(3):
        stamp.client.get(f"/api/v1/incidents/{incident['id']}", headers=inv)
    container = stamp.container.records.container("audit")
    items = list(
        container.query_items(
            "SELECT * FROM c WHERE c.tenantId = @t AND c.seq = 1",
            parameters=[{"name": "@t", "value": "northwind"}],
            enable_cross_partition_query=True,
        )
    )
    # The first entry of one of the trail's shards (every shard that has entries has an entry 1).
    assert items
    item = items[0]
    item["actor_user"] = "someone-else"
    container.replace_item(item["id"], {k: v for k, v in item.items() if not k.startswith("_")})
    chain = stamp.client.get("/api/v1/audit", headers=stamp.auth("northwind", "Retailer.Admin")).json()["chain"]
    assert chain["verified"] is False
    assert chain["first_broken"]["shard"] == shard_index("audit", item["chain"])
    assert chain["first_broken"]["seq"] == 1 and chain["first_broken"]["id"] == item["id"]


def test_removed_audit_item_is_named_on_cosmos(stamp):
    incident = report(stamp).json()
    inv = stamp.auth("northwind", "Retailer.Investigator")
    for _ in range(3):
        stamp.client.get(f"/api/v1/incidents/{incident['id']}", headers=inv)
    container = stamp.container.records.container("audit")
    item = next(
        iter(
            container.query_items(
                "SELECT * FROM c WHERE c.tenantId = @t AND c.seq = 1",
                parameters=[{"name": "@t", "value": "northwind"}],
                enable_cross_partition_query=True,
            )
        )
    )
    container.delete_item(item["id"], partition_key=item["pk"])
    chain = stamp.client.get("/api/v1/audit", headers=stamp.auth("northwind", "Retailer.Admin")).json()["chain"]
    assert chain["verified"] is False
    # The first entry of one of the trail's shards (every shard that has entries has an entry 1).
    assert chain["first_broken"]["shard"] == shard_index("audit", item["chain"])
    assert chain["first_broken"]["seq"] == 1 and "missing" in chain["first_broken"]["reason"]
