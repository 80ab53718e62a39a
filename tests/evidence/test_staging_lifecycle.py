"""The lifecycle rule that removes abandoned staging in Azure matches the blobs staging
really holds: the type the adapter writes (read back from storage, not assumed), and the
append blobs earlier versions staged, under the staging container's prefix."""

from __future__ import annotations

import uuid

import pytest

from shared import names
from tools import infra_check as ic

# The storage SDK's blob types as lifecycle rules spell them.
LIFECYCLE_BLOB_TYPE = {"BlockBlob": "blockBlob", "AppendBlob": "appendBlob", "PageBlob": "pageBlob"}


def _staging_rule():
    resource = ic.parse(ic.APP / "storage.bicep")["resources"]["evidenceLifecycle"]["config"]
    rules = resource["properties"]["policy"]["rules"]
    staging = names.BLOB_CONTAINERS["evidence_staging"]
    return next(r for r in rules if f"{staging}/" in r["definition"]["filters"]["prefixMatch"])


@pytest.mark.azure
def test_the_staging_rule_matches_the_blob_type_the_adapter_stages(azurite):
    from tests.evidence.conftest import azure_store

    store = azure_store(azurite)
    upload_id = uuid.uuid4().hex
    assert store.stage(upload_id, 0, [b"x" * 1000]) == 1000
    # Staged blobs sit at the container's root: the rule's prefix is the container.
    staged = next(iter(store.staging.list_blobs()))
    assert staged.name == upload_id
    written = LIFECYCLE_BLOB_TYPE[str(getattr(staged.blob_type, "value", staged.blob_type))]
    assert written in _staging_rule()["definition"]["filters"]["blobTypes"]


def test_the_staging_rule_also_removes_append_blobs_earlier_versions_staged():
    """The adapter refuses to resume an append-blob upload (tests/evidence/test_upload_sessions.py):
    left alone, only the rule or the sweep would ever remove one."""
    rule = _staging_rule()["definition"]
    assert set(rule["filters"]["blobTypes"]) == {"blockBlob", "appendBlob"}
    assert rule["filters"]["prefixMatch"] == [f"{names.BLOB_CONTAINERS['evidence_staging']}/"]
    # Append blobs allow delete actions only: the rule has nothing else.
    for target in rule["actions"].values():
        assert list(target) == ["delete"]
