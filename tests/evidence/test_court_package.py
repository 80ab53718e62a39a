"""The court package as a court and a defence expert receive it: the documents read back
from the PDFs in plain words, and the package checked by its own verify.py, run in an
isolated interpreter outside the repository."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from shared.court_package import verify as standalone
from tests.d2p.helpers import add_evidence, drain
from tests.evidence.conftest import azure_store
from tests.evidence.test_court_documents import DECLARATION, pages
from tests.fixtures_http import both_backends
from tools.verify_package import verify

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
EVIDENCE_ID = re.compile(r"northwind-[0-9a-f]{32}")
RI = "Retailer.Investigator"
PURPOSE = {"purpose": "Case file for CPS charging decision"}


def _report_with_everything(stamp) -> dict:
    ri = stamp.auth("northwind", RI)
    r = stamp.client.post("/api/v1/incidents", json=stamp.example("IncidentIn"), headers=ri)
    assert r.status_code == 201, r.text
    incident = r.json()
    body = {
        "name": "Łukasz Zoë Brown",
        "kind": "security",
        "statement": "I stopped him at the door with the rucksack. I produce the CCTV as exhibit ST/1.",
        "occupation": "Store detective",
        "mg11": True,
        "declaration_accepted": True,
    }
    assert stamp.client.post(f"/api/v1/incidents/{incident['id']}/statements", json=body, headers=ri).status_code == 201
    add_evidence(stamp, incident, "cctv", "suspect_image")
    assert stamp.client.post(f"/api/v1/incidents/{incident['id']}/d2p", headers=ri).status_code in (200, 202)
    drain(stamp)
    dispatch = stamp.client.get(f"/api/v1/incidents/{incident['id']}/d2p", headers=ri).json()["dispatches"][0]
    police = stamp.auth("devon-and-cornwall", "Police.Officer")
    ack = stamp.client.post(f"/api/v1/d2p/{dispatch['id']}/acknowledge", json={"crime_reference": "CR/012345/26"}, headers=police)
    assert ack.status_code == 200, ack.text
    out = stamp.client.post(f"/api/v1/incidents/{incident['id']}/outcomes", json={"code": "1", "note": "Charged."}, headers=police)
    assert out.status_code == 201, out.text
    return incident


@both_backends
def test_the_package_holds_the_court_documents_in_plain_words_and_checks_itself(stamp, tmp_path, request):
    if stamp.backend == "azure":  # records in Cosmos DB, evidence bytes in Azurite
        stamp.container.__dict__["evidence_blobs"] = azure_store(request.getfixturevalue("azurite"))
    incident = _report_with_everything(stamp)
    police = stamp.auth("devon-and-cornwall", "Police.Officer")
    r = stamp.client.get(f"/api/v1/incidents/{incident['id']}/package", headers=police, params=PURPOSE)
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        names = zf.namelist()
        summary = " ".join(pages(zf.read("case-summary.pdf")))
        statements = [n for n in names if n.startswith("statements/")]
        assert statements == ["statements/MG11-01 Łukasz Zoë Brown.pdf"]  # the example's own statement is not under s.9
        statement = " ".join(pages(zf.read(statements[0])))
        impact = " ".join(pages(zf.read("impact-statement-for-business.pdf")))
        manifest = json.loads(zf.read("manifest.json"))
    assert {"verify.py", "README.txt", "manifest.json", "manifest.sha256", "chunks.json"} <= set(names)
    assert {"evidence/ST-1 cctv.mp4", "evidence/ST-2 suspect_image.jpg", "custody/ST-1.json", "custody/ST-2.json"} <= set(names)
    assert sorted(f["exhibit_label"] for f in manifest["files"] if f["path"].startswith("evidence/")) == ["ST/1", "ST/2"]
    # Everything the force's email says, plus crime reference, outcome and exhibits.
    for words in (
        "Crime reference CR/012345/26",
        "Charged / summonsed (Home Office outcome 1)",
        "Devon and Cornwall",
        "Friday 20 November 2026 at 14:32 GMT",
        "Whisky 70cl",
        "WR21XKD silver Ford Focus",
        "grey hoodie, black joggers, red rucksack",
        "Sam Taylor",
        "I saw the man take six bottles",
        "MG11 under the section 9 declaration",
        "ST/1",
        "ST/2",
        "CCTV recording",
        "image of the suspect",
        "evidence/ST-1 cctv.mp4",
        "received by retailer investigator",
        "police officer",
    ):
        assert words in summary, words
    for text in (summary, statement, impact):
        assert not UUID.search(text) and not EVIDENCE_ID.search(text)
        assert "devon-and-cornwall" not in text and "nw-plymouth" not in text  # names, not ids
    assert DECLARATION in statement and "Statement of Łukasz Zoë Brown" in statement and "Store detective" in statement
    assert "Crime reference CR/012345/26" in statement and "Page 1 of 1" in statement
    assert "Crime reference CR/012345/26" in impact and "Whisky 70cl" in impact


def run_verify(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """verify.py in a fresh, isolated interpreter (-I: no PYTHONPATH, no user site, no
    script folder tricks), so it can lean on nothing from the repository."""
    env = {"PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-I", "verify.py", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=60)


def test_verify_py_alone_says_intact_then_names_each_changed_added_and_removed_file(stamp, tmp_path):
    incident = _report_with_everything(stamp)
    r = stamp.client.get(f"/api/v1/incidents/{incident['id']}/package", headers=stamp.auth("northwind", RI))
    assert r.status_code == 200
    repo = Path(__file__).resolve().parents[2]
    assert not tmp_path.is_relative_to(repo)
    zipped = tmp_path / "package.zip"
    zipped.write_bytes(r.content)
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(zipped) as zf:
        zf.extractall(folder)

    ok = run_verify(folder)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "INTACT" in ok.stdout and r.headers["x-manifest-sha256"] in ok.stdout
    shutil.copy(folder / "verify.py", tmp_path / "verify.py")
    assert run_verify(tmp_path, "package.zip").returncode == 0  # the zip itself, unopened

    video = folder / "evidence" / "ST-1 cctv.mp4"
    data = bytearray(video.read_bytes())
    data[200] ^= 0x01
    video.write_bytes(bytes(data))
    (folder / "statements" / "MG11-01 Łukasz Zoë Brown.pdf").unlink()
    (folder / "evidence" / "planted.jpg").write_bytes(b"\xff\xd8\xff planted")
    bad = run_verify(folder)
    assert bad.returncode == 1 and "NOT INTACT" in bad.stdout
    assert f"changed: evidence/ST-1 cctv.mp4 (first change in bytes 0-{len(data) - 1})" in bad.stdout
    assert "removed: statements/MG11-01 Łukasz Zoë Brown.pdf" in bad.stdout and "added: evidence/planted.jpg" in bad.stdout
    # The repository's tool says the same (make verify-package).
    problems = verify(folder)["problems"]
    assert any(p.startswith("changed: evidence/ST-1 cctv.mp4") for p in problems)


def test_verify_locates_a_change_by_its_chunk(tmp_path):
    data = bytes(range(10))
    (tmp_path / "a.bin").write_bytes(data)
    manifest = {
        "chunk_bytes": 4,
        "files": [
            {
                "path": "a.bin",
                "size": 10,
                "sha256": hashlib.sha256(data).hexdigest(),
                "chunks": [hashlib.sha256(data[i : i + 4]).hexdigest() for i in (0, 4, 8)],
            }
        ],
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert standalone.verify(str(tmp_path))["ok"]
    (tmp_path / "a.bin").write_bytes(data[:6] + b"\xff" + data[7:])
    assert standalone.verify(str(tmp_path))["problems"] == ["changed: a.bin (first change in bytes 4-7)"]
    (tmp_path / "a.bin").write_bytes(data[:8])
    assert standalone.verify(str(tmp_path))["problems"] == ["changed: a.bin (the same up to byte 7; its length differs)"]


def test_one_mg11_or_the_impact_statement_on_its_own(stamp):
    incident = _report_with_everything(stamp)
    base = f"/api/v1/incidents/{incident['id']}"
    police = stamp.auth("devon-and-cornwall", "Police.Officer")
    ri = stamp.auth("northwind", RI)
    r = stamp.client.get(f"{base}/statements/2/mg11", headers=police, params=PURPOSE)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert "MG11-02" in r.headers["content-disposition"]
    text = " ".join(pages(r.content))
    assert DECLARATION in text and "Statement of Łukasz Zoë Brown" in text and "Crime reference CR/012345/26" in text
    # The example's own statement was not made under the declaration: a clear 422, not an unsigned MG11.
    plain = stamp.client.get(f"{base}/statements/1/mg11", headers=ri)
    assert plain.status_code == 422 and plain.headers["content-type"] == "application/problem+json"
    assert "section 9" in plain.json()["detail"]
    assert stamp.client.get(f"{base}/statements/3/mg11", headers=ri).status_code == 404
    assert stamp.client.get(f"{base}/statements/2/mg11", headers=police).status_code == 422  # police state a purpose
    assert stamp.client.get(f"{base}/statements/2/mg11", headers=stamp.auth("contoso", RI)).status_code == 404
    impact = stamp.client.get(f"{base}/impact-statement", headers=ri)
    assert impact.status_code == 200 and impact.headers["content-type"] == "application/pdf"
    assert "Whisky 70cl" in " ".join(pages(impact.content))
