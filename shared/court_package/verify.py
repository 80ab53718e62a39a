"""Check a Vigil court evidence package with nothing but Python 3 (standard library only).

    python verify.py                 checks the folder this file is in (the unzipped package)
    python verify.py FOLDER          checks an unzipped package elsewhere
    python verify.py package.zip     checks the zip itself

Every file's size and SHA-256 are recomputed and compared with manifest.json. The answer
is INTACT, or NOT INTACT naming each file changed, added or removed; for a changed file
the per-MiB hashes show the first changed byte range. Each custody log is checked to link
event to event up to the head the manifest names. The SHA-256 of manifest.json is printed
so it can be compared with the "exported" event Vigil recorded in each exhibit's custody.
Exit status: 0 intact, 1 not intact, 2 unreadable.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import zipfile

MANIFEST = "manifest.json"
MANIFEST_SHA = "manifest.sha256"
CHUNK_INDEX = "chunks.json"
# Files that describe the package rather than belong to it: never "added".
NOT_LISTED = (MANIFEST, MANIFEST_SHA, CHUNK_INDEX)
READ_BYTES = 1024 * 1024


class Folder:
    """An unzipped package: paths relative to its root, with forward slashes."""

    def __init__(self, root):
        self.root = os.path.abspath(root)

    def names(self):
        out = []
        for base, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for f in files:
                rel = os.path.relpath(os.path.join(base, f), self.root)
                out.append(rel.replace(os.sep, "/"))
        return out

    def open(self, name):
        return open(os.path.join(self.root, *name.split("/")), "rb")

    def read(self, name):
        with self.open(name) as f:
            return f.read()

    def close(self):
        pass


class Zip:
    def __init__(self, path):
        self.zf = zipfile.ZipFile(path)

    def names(self):
        return [i.filename for i in self.zf.infolist() if not i.is_dir()]

    def open(self, name):
        return self.zf.open(name)

    def read(self, name):
        return self.zf.read(name)

    def close(self):
        self.zf.close()


def digest(source, name, chunk_bytes):
    """(size, sha256, per-chunk sha256 list) of one file, read once."""
    whole = hashlib.sha256()
    chunks = []
    part = hashlib.sha256()
    in_part = 0
    size = 0
    with source.open(name) as f:
        while True:
            block = f.read(READ_BYTES)
            if not block:
                break
            size += len(block)
            whole.update(block)
            view = memoryview(block)
            while view:
                take = min(len(view), chunk_bytes - in_part)
                part.update(view[:take])
                in_part += take
                view = view[take:]
                if in_part == chunk_bytes:
                    chunks.append(part.hexdigest())
                    part, in_part = hashlib.sha256(), 0
    if in_part or not chunks:
        chunks.append(part.hexdigest())
    return size, whole.hexdigest(), chunks


def where_changed(listed, found, chunk_bytes, size_found):
    """Words for where a changed file first differs, from the chunk hashes."""
    if not listed:
        return ""
    for n, (a, b) in enumerate(zip(listed, found, strict=False)):
        if a != b:
            start = n * chunk_bytes
            return f" (first change in bytes {start}-{min(start + chunk_bytes, size_found) - 1})"
    shorter = min(len(listed), len(found)) * chunk_bytes
    return f" (the same up to byte {shorter - 1}; its length differs)" if shorter else ""


def check_custody(events, head):
    """The first break in a custody log's links, or None. Without the platform's key the
    keyed hashes themselves cannot be recomputed; each event must name its predecessor's
    hash, no event may be missing, and the log must end at the manifest's head."""
    prev = ""
    for expected, e in enumerate(events, start=1):
        if e.get("seq") != expected:
            return f"event {expected} is missing"
        if e.get("prev_hash") != prev:
            return f"event {expected} does not link to the previous event"
        prev = e.get("hash")
    if head and (not events or events[-1].get("seq") != head.get("seq") or prev != head.get("hash")):
        return "it does not end at the head the manifest names"
    return None


def verify(path=None):
    """Check the package at `path` (a zip or a folder; the folder holding this file if None).
    Returns a dict: ok, problems (each a sentence naming a file), manifest_sha256, files,
    incident."""
    path = path or os.path.dirname(os.path.abspath(__file__))
    source = Folder(path) if os.path.isdir(path) else Zip(path)
    try:
        return _verify(source)
    finally:
        source.close()


def _verify(source):
    names = source.names()
    if MANIFEST not in names:
        return {"ok": False, "problems": [f"{MANIFEST} is missing: this is not a complete package"], "manifest_sha256": None}
    raw = source.read(MANIFEST)
    manifest_sha = hashlib.sha256(raw).hexdigest()
    manifest = json.loads(raw)
    problems = []
    if MANIFEST_SHA in names:
        recorded = source.read(MANIFEST_SHA).decode(errors="replace").split()[:1]
        if recorded != [manifest_sha]:
            problems.append(f"changed: {MANIFEST} (its SHA-256 {manifest_sha} differs from {MANIFEST_SHA})")
    chunk_bytes = int(manifest.get("chunk_bytes") or READ_BYTES)
    index = {}
    index_name = manifest.get("chunk_index")
    if index_name and index_name in names:
        try:
            index = json.loads(source.read(index_name)).get("files", {})
        except ValueError:
            problems.append(f"changed: {index_name} (not readable; changed files can be named but not located)")
    listed = {f["path"]: f for f in manifest.get("files", [])}
    present = set(names)
    for name in sorted(listed):
        f = listed[name]
        if name not in present:
            problems.append(f"removed: {name}")
            continue
        size, sha, chunks = digest(source, name, chunk_bytes)
        expected_chunks = f.get("chunks") or index.get(name)
        if (size, sha) != (f.get("size"), f.get("sha256")):
            problems.append(f"changed: {name}{where_changed(expected_chunks, chunks, chunk_bytes, size)}")
        elif expected_chunks and expected_chunks != chunks:
            problems.append(f"changed: {index_name or MANIFEST} (its chunk hashes for {name} do not match the file)")
    for name in sorted(present - set(listed) - set(NOT_LISTED)):
        problems.append(f"added: {name}")
    heads = manifest.get("custody_heads", {})
    for f in listed.values():
        if f.get("kind") != "custody-log" or f["path"] not in present:
            continue
        try:
            events = json.loads(source.read(f["path"])).get("events", [])
        except ValueError:
            problems.append(f"custody log unreadable: {f['path']}")
            continue
        broken = check_custody(events, heads.get(f.get("evidence_id")))
        if broken:
            problems.append(f"custody chain broken: {f['path']}: {broken}")
    return {
        "ok": not problems,
        "problems": problems,
        "manifest_sha256": manifest_sha,
        "files": len(listed),
        "incident": manifest.get("incident"),
    }


def main(argv):
    if len(argv) > 1:
        print("usage: python verify.py [PACKAGE.zip | FOLDER]", file=sys.stderr)
        return 2
    target = argv[0] if argv else os.path.dirname(os.path.abspath(__file__))
    try:
        result = verify(target)
    except (OSError, zipfile.BadZipFile, ValueError, KeyError) as exc:
        print(f"NOT VERIFIED: cannot read {target}: {exc}")
        return 2
    incident = result.get("incident") or {}
    print(f"package: {target}")
    if incident.get("reference"):
        print(f"case: {incident['reference']}")
    print(f"manifest SHA-256: {result['manifest_sha256']} (compare with the 'exported' custody events in Vigil)")
    if result["ok"]:
        print(f"INTACT: all {result['files']} files match the manifest and every custody log links up to its head")
        return 0
    print("NOT INTACT:")
    for p in result["problems"]:
        print(f"  {p}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
