"""The local stamp's audit chain key: made once under <data_dir>/keys (beside the token
signing key), never in the records store, so editing records.sqlite cannot recompute a
chain that verifies."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

LOCAL_KEY_ID = "local-1"


def ensure_local_chain_key(directory: Path) -> dict[str, bytes]:
    """The local chain keys by id, creating a random 256-bit key on first run."""
    path = Path(directory) / "audit-chain-keys.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({LOCAL_KEY_ID: secrets.token_hex(32)}, f)
        try:
            # link() refuses an existing name: two processes starting at once keep one key.
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return {kid: value.encode() for kid, value in json.loads(path.read_text()).items()}
