"""Audit chain checkpoints: write-once on both blob backends (local files, Azurite), and
found and checked by their signature whatever the records store says."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from shared.adapters.checkpoints import BlobCheckpointStore
from shared.adapters.local.file_evidence import FileEvidenceStore
from shared.adapters.local.sqlite_records import SqliteRecordStore
from shared.domain.audit import ChainKeys
from shared.domain.errors import Conflict
from shared.services.checkpoints import ChainCheckpoints, CheckpointInvalid, checkpoint_name
from tests.fakes import FakeClock
from tests.fixtures_backends import BACKENDS

KEYS = ChainKeys({"k1": b"1" * 32}, "k1")


@pytest.fixture(params=BACKENDS)
def checkpoint_store(request, tmp_path):
    clock = FakeClock()
    if request.param == "local":
        blobs = FileEvidenceStore(tmp_path / "checkpoints", clock=clock)
    else:
        from azure.storage.blob import BlobServiceClient

        from shared.adapters.azure.blob_evidence import AzureBlobEvidenceStore

        service = BlobServiceClient.from_connection_string(request.getfixturevalue("azurite"))
        suffix = uuid.uuid4().hex[:12]
        blobs = AzureBlobEvidenceStore(
            service, azurite=True, evidence_container=f"audit-checkpoints-{suffix}", staging_container=f"staging-{suffix}"
        )
        blobs.create_containers()
    return BlobCheckpointStore(blobs, clock, keep=timedelta(days=3650))


def test_a_checkpoint_cannot_be_overwritten(checkpoint_store):
    checkpoint_store.publish("c0ffee-000000000001", b'{"seq": 7}')
    with pytest.raises(Conflict):
        checkpoint_store.publish("c0ffee-000000000001", b'{"seq": 3}')
    assert checkpoint_store.read("c0ffee-000000000001") == b'{"seq": 7}'
    assert checkpoint_store.read("c0ffee-000000000002") is None


@pytest.fixture
def checkpoints(checkpoint_store, tmp_path):
    records = SqliteRecordStore(tmp_path / "records.sqlite")
    yield ChainCheckpoints(checkpoint_store, records, KEYS, FakeClock()), records
    records.close()


def test_the_newest_checkpoint_is_found_whatever_the_hint_says(checkpoints):
    cps, records = checkpoints
    assert cps.latest("northwind") is None
    latest = None
    for seq in range(1, 6):
        latest = cps.publish("northwind", after=latest, seq=seq * 10, hash_=f"h{seq}")
    assert cps.latest("northwind")["seq"] == 50
    # Someone with write access to the records rewinds the hint, or moves it past the end.
    for number in (1, 0, 99):
        with records.unit_of_work() as uow:
            uow.upsert("chain_heads", "northwind", {"id": "checkpoint:audit", "number": number})
        assert cps.latest("northwind")["number"] == 5
    # A second publisher of the same number loses (write-once), and nothing changes.
    assert cps.publish("northwind", after={"number": 4}, seq=99, hash_="forged") is None
    assert cps.latest("northwind")["hash"] == "h5"
    assert cps.latest("contoso") is None


def test_a_checkpoint_without_a_valid_chain_key_signature_is_refused(checkpoints, checkpoint_store):
    cps, _ = checkpoints
    cps.publish("northwind", after=None, seq=4, hash_="h4")
    forged = {"chain": "audit", "organisation": "northwind", "number": 2, "seq": 2, "hash": "x", "at": "", "key_id": "k1", "mac": "0" * 64}
    checkpoint_store.publish(checkpoint_name("northwind", 2), json.dumps(forged).encode())
    with pytest.raises(CheckpointInvalid, match="checkpoint 2 does not carry a valid chain key signature"):
        cps.latest("northwind")
