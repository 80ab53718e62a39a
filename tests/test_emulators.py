"""The emulator launcher itself: Azurite answers the blob SDK, ports are picked
at run time, and a missing npm makes the emulator fixtures fail (never skip)."""

from __future__ import annotations

import os
import uuid

import pytest

from tests import emulators


@pytest.mark.azure
def test_azurite_serves_blobs(azurite):
    from azure.storage.blob import BlobServiceClient

    assert "127.0.0.1:10000" not in azurite  # a free port, not the default one
    blobs = BlobServiceClient.from_connection_string(azurite)
    container = blobs.create_container("c" + uuid.uuid4().hex[:12])
    container.upload_blob("a.txt", b"hello", overwrite=False)
    assert container.download_blob("a.txt").readall() == b"hello"
    assert "QueueEndpoint=http://127.0.0.1:" in azurite and "TableEndpoint=http://127.0.0.1:" in azurite


def test_missing_npm_is_an_error_not_a_skip(monkeypatch, tmp_path):
    monkeypatch.setattr(emulators, "EMULATORS_DIR", tmp_path)
    monkeypatch.setattr(emulators, "NODE_BIN", tmp_path / "node_modules" / ".bin")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(emulators.EmulatorError, match="npm"):
        emulators.ensure_installed()


def test_emulator_stop_kills_the_process_group():
    emulator = emulators.start_cosmos()
    pid = emulator.process.pid
    emulator.stop()
    assert emulator.process.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
