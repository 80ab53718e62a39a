"""MG11 witness statements: the section 9 declaration and the signature record that proves a statement unchanged."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from shared.domain.timestamps import to_iso

SECTION_9_DECLARATION = (
    "This statement (consisting of {pages} page(s) each signed by me) is true to the best of my knowledge and belief "
    "and I make it knowing that, if it is tendered in evidence, I shall be liable to prosecution if I have wilfully "
    "stated in it anything which I know to be false, or do not believe to be true."
)
# Set by the server when a statement under the declaration is recorded; never sent by a client.
SIGNATURE_FIELDS = ("signed_at", "signature_sha256")
_SIGNED_FIELDS = ("name", "age_if_under_18", "occupation", "statement")


def signature_record(witness: dict[str, Any], signed_at: str) -> bytes:
    """The exact bytes whose SHA-256 is a statement's signature record: the form, what the
    witness signed (name, age if under 18, occupation, statement) and when, as compact
    JSON with sorted keys (docs/evidence.md shows how to recompute it)."""
    record: dict[str, Any] = {"form": "MG11", "declaration": "s.9 Criminal Justice Act 1967", "signed_at": signed_at}
    record.update({k: witness.get(k) for k in _SIGNED_FIELDS})
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def signature_holds(witness: dict[str, Any]) -> bool:
    """Whether a signed statement still reads as it did when signed."""
    signed_at = witness.get("signed_at")
    if not signed_at or not witness.get("signature_sha256"):
        return False
    return bool(hashlib.sha256(signature_record(witness, signed_at)).hexdigest() == witness["signature_sha256"])


def sign_statements(witnesses: list[dict[str, Any]], now: datetime) -> None:
    """Sign, at `now`, each statement made under the declaration that is not signed yet."""
    at = to_iso(now)
    for w in witnesses:
        if w.get("declaration_accepted") and not w.get("signed_at"):
            w["signed_at"] = at
            w["signature_sha256"] = hashlib.sha256(signature_record(w, at)).hexdigest()


def carry_signatures(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> None:
    """Keep the signature of each statement a change left exactly as signed. One whose
    signed text changed is signed again when the change lands (its earlier text stays in
    the incident's versions), so no signature ever covers words the witness did not see."""
    signed = [w for w in before if w.get("signed_at") and w.get("signature_sha256")]
    for w in after:
        if not w.get("declaration_accepted"):
            continue
        for old in signed:
            if hashlib.sha256(signature_record(w, old["signed_at"])).hexdigest() == old["signature_sha256"]:
                w["signed_at"], w["signature_sha256"] = old["signed_at"], old["signature_sha256"]
                signed.remove(old)
                break
