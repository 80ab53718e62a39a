"""Check a Vigil court evidence package offline: `make verify-package FILE=package.zip`
(or an unzipped folder).

The file checks are the package's own `verify.py` (shared/court_package/verify.py,
standard library only): every file's size and SHA-256 against manifest.json, each file
changed, added or removed named (with the first changed byte range from the per-MiB
hashes), each custody log's links up to the head the manifest names, and the manifest's
own SHA-256 to compare with the "exported" event in each item's custody.

Custody hashes are keyed (HMAC under the platform's chain key, docs/audit.md): with the
chain keys in VIGIL_AUDIT_CHAIN_KEYS (platform staff) this checks every keyed hash too.
Exit status 0 when the package is intact, 1 when anything is wrong.
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.court_package import verify as standalone  # noqa: E402
from shared.domain.audit import ChainKeys  # noqa: E402
from shared.domain.custody import verify_custody  # noqa: E402


def chain_keys_from_env() -> ChainKeys | None:
    """The chain keys from VIGIL_AUDIT_CHAIN_KEYS (JSON {"<id>": "<secret>"}), if set."""
    raw = os.environ.get("VIGIL_AUDIT_CHAIN_KEYS", "")
    keys = {kid: secret.encode() for kid, secret in json.loads(raw).items()} if raw else {}
    return ChainKeys(keys, next(iter(keys))) if keys else None


def verify(path: str | Path, keys: ChainKeys | None = None) -> dict[str, Any]:
    """The findings for one package (a zip or a folder): problems (empty when intact) and
    the manifest hash. With `keys`, each custody event's keyed hash is checked too."""
    result: dict[str, Any] = standalone.verify(str(path))
    result["keyed"] = keys is not None
    if keys is None or result.get("manifest_sha256") is None:
        return result
    source = standalone.Folder(str(path)) if os.path.isdir(path) else standalone.Zip(str(path))
    try:
        manifest = json.loads(source.read(standalone.MANIFEST))
        present = set(source.names())
        heads = manifest.get("custody_heads", {})
        for f in manifest.get("files", []):
            if f.get("kind") != "custody-log" or f["path"] not in present:
                continue
            events = json.loads(source.read(f["path"])).get("events", [])
            check = verify_custody(events, heads.get(f["evidence_id"]), keys, require_head=False)
            if not check["verified"]:
                result["problems"].append(
                    f"custody chain broken: {f['path']} at event {check['first_broken']['seq']} ({check['first_broken']['reason']})"
                )
    finally:
        source.close()
    result["ok"] = not result["problems"]
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: verify_package.py PACKAGE.zip|FOLDER", file=sys.stderr)
        return 2
    try:
        result = verify(argv[0], chain_keys_from_env())
    except (OSError, zipfile.BadZipFile, json.JSONDecodeError, KeyError, ValueError) as exc:
        print(f"NOT VERIFIED: cannot read {argv[0]}: {exc}")
        return 1
    incident = result.get("incident") or {}
    print(f"package: {argv[0]}")
    print(f"incident: {incident.get('reference')} ({incident.get('id')})")
    print(f"manifest sha-256: {result['manifest_sha256']} (compare with the 'exported' custody events)")
    if result["ok"]:
        print(f"VERIFIED: all {result['files']} files match the manifest; custody chains intact")
        if not result["keyed"]:
            print(
                "(custody links checked; their keyed hashes need the platform's chain key: compare the manifest sha-256 with the platform)"
            )
        return 0
    print("NOT VERIFIED:")
    for p in result["problems"]:
        print(f"  {p}")
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
