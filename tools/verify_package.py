"""Check a Vigil court evidence package offline: `make verify-package FILE=package.zip`.

Recomputes every file's size and SHA-256 against manifest.json, names each file that
was changed, added or removed, re-verifies each custody log's hash chain and that it
ends at the head the manifest names, and prints the manifest's own SHA-256 so it can be
compared with the "exported" event in each item's custody (held by the platform).

Custody hashes are keyed (HMAC under the platform's chain key, docs/audit.md): without
the key this checks the links (order, predecessor hashes, head); with the chain keys in
VIGIL_AUDIT_CHAIN_KEYS (platform staff) it checks every keyed hash as well.
Exit status 0 when the package is intact, 1 when anything is wrong.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.domain.audit import ChainKeys  # noqa: E402
from shared.domain.custody import verify_custody
from shared.domain.evidence import MANIFEST_NAME, check_package  # noqa: E402


def chain_keys_from_env() -> ChainKeys | None:
    """The chain keys from VIGIL_AUDIT_CHAIN_KEYS (JSON {"<id>": "<secret>"}), if set."""
    raw = os.environ.get("VIGIL_AUDIT_CHAIN_KEYS", "")
    keys = {kid: secret.encode() for kid, secret in json.loads(raw).items()} if raw else {}
    return ChainKeys(keys, next(iter(keys))) if keys else None


def verify(path: str | Path, keys: ChainKeys | None = None) -> dict[str, Any]:
    """The findings for one package: problems (empty when intact) and the manifest hash.
    With `keys`, each custody event's keyed hash is checked too."""
    problems: list[str] = []
    with zipfile.ZipFile(path) as zf:
        names = [i.filename for i in zf.infolist() if not i.is_dir()]
        if MANIFEST_NAME not in names:
            return {"ok": False, "problems": [f"{MANIFEST_NAME} is missing: this is not a complete package"], "manifest_sha256": None}
        raw = zf.read(MANIFEST_NAME)
        manifest_sha = hashlib.sha256(raw).hexdigest()
        manifest = json.loads(raw)
        present: dict[str, tuple[int, str]] = {}
        for name in names:
            if name in (MANIFEST_NAME, "manifest.sha256"):
                continue
            hasher = hashlib.sha256()
            size = 0
            with zf.open(name) as f:
                while chunk := f.read(1024 * 1024):
                    hasher.update(chunk)
                    size += len(chunk)
            present[name] = (size, hasher.hexdigest())
        if "manifest.sha256" in names:
            recorded = zf.read("manifest.sha256").decode(errors="replace").split()[0:1]
            if recorded != [manifest_sha]:
                problems.append(f"changed: {MANIFEST_NAME} (its SHA-256 {manifest_sha} differs from manifest.sha256)")
        diff = check_package(manifest, present)
        problems += [f"changed: {p}" for p in diff["changed"]]
        problems += [f"added: {p}" for p in diff["added"]]
        problems += [f"removed: {p}" for p in diff["removed"]]
        heads = manifest.get("custody_heads", {})
        for f in manifest.get("files", []):
            if f.get("kind") != "custody-log" or f["path"] not in present:
                continue
            log = json.loads(zf.read(f["path"]))
            events = log.get("events", [])
            head = heads.get(f["evidence_id"])
            check = verify_custody(events, head, keys, require_head=False)
            if not check["verified"]:
                problems.append(
                    f"custody chain broken: {f['path']} at event {check['first_broken']['seq']} ({check['first_broken']['reason']})"
                )
            # Events past the manifest's head are not the package's custody log either.
            if head and (not events or events[-1]["hash"] != head["hash"] or events[-1]["seq"] != head["seq"]):
                problems.append(f"custody chain does not end at the manifest's head: {f['path']}")
    return {
        "ok": not problems,
        "problems": problems,
        "manifest_sha256": manifest_sha,
        "files": len(manifest.get("files", [])),
        "incident": manifest.get("incident"),
        "keyed": keys is not None,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: verify_package.py PACKAGE.zip", file=sys.stderr)
        return 2
    try:
        result = verify(argv[0], chain_keys_from_env())
    except (OSError, zipfile.BadZipFile, json.JSONDecodeError, KeyError) as exc:
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
