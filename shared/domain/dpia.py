"""The DPIA and record of processing as facts: sections of labelled statements read from
the live configuration, their Markdown, the content hash a version is kept under, and
the differences between two versions (fact by fact, and line by line)."""

from __future__ import annotations

import difflib
import functools
import hashlib
import types
from collections.abc import Mapping
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from shared.domain.court import CourtDocument, Heading, Para, Table
from shared.domain.incident_report import SPECIAL_CATEGORY_FIELDS, IncidentIn
from shared.domain.tenancy import POLICE_ROLES, RETAILER_ROLES, OrgKind, Role

# The sections, in the order the document states them. Each is a mapping of a label (a
# partner, a record type, a role) to what the configuration says about it.
SECTIONS = (
    "Organisation",
    "Data collected",
    "Data refused",
    "Roles",
    "Who acts for the organisation",
    "Sharing",
    "Direct to police",
    "ANPR",
    "Retention",
    "Legal holds",
    "Region",
    "Network ranges",
    "Processors",
    "Safeguards",
)

Facts = dict[str, dict[str, str]]

# What each role may do: the rights the routes enforce (functions/http), in words.
ROLE_DUTIES = {
    Role.RETAILER_REPORTER: "store staff: report incidents and add evidence; read their own store's incidents",
    Role.RETAILER_INVESTIGATOR: "loss prevention: read and change the organisation's incidents, persons of interest, vehicles; legal holds",
    Role.RETAILER_ADMIN: "the organisation's settings: D2P, sharing agreements, retention choices, members' stores, this DPIA",
    Role.DEVICE_ANPR: "a camera system posting plate reads for the stores it is registered to",
    Role.POLICE_OFFICER: "reads what retailers share with the force (a stated purpose per read); acknowledges D2P reports; outcomes",
    Role.POLICE_ANALYST: "an officer's rights plus intelligence queries across the force area",
    Role.POLICE_ADMIN: "the force's D2P rules and inbox, its answer to ANPR sharing, this DPIA",
}


def roles_of(kind: OrgKind) -> list[Role]:
    """The roles Vigil honours for an organisation of `kind` (others in a token are ignored)."""
    if kind == OrgKind.RETAILER:
        return [r for r in Role if r in RETAILER_ROLES or r == Role.DEVICE_ANPR]
    if kind == OrgKind.POLICE_FORCE:
        return [r for r in Role if r in POLICE_ROLES]
    return [Role.PLATFORM_OPERATOR]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if get_origin(annotation) in (list, Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in _models_in(arg)]
    return []


def _describe(model: type[BaseModel]) -> str:
    """A model's fields, nested ones in brackets: `role, description (build, hair), name`."""
    parts = []
    for name, info in model.model_fields.items():
        nested = _models_in(info.annotation)
        parts.append(f"{name} ({'; '.join(_describe(m) for m in nested)})" if nested else name)
    return ", ".join(parts)


@functools.cache
def _collected() -> tuple[tuple[str, str], ...]:
    out = []
    for name, info in IncidentIn.model_fields.items():
        nested = _models_in(info.annotation)
        out.append((f"incident.{name}", "; ".join(_describe(m) for m in nested) if nested else "as entered"))
    return tuple(out)


def collected_fields() -> dict[str, str]:
    """The incident report's fields as the form takes them (read from the model itself, so
    a field added to the form appears here): top-level field, then what it holds."""
    return dict(_collected())


def refused_fields() -> dict[str, str]:
    """The field names every report form refuses (special category data)."""
    return {name: "refused with 422, never stored or searchable" for name in sorted(SPECIAL_CATEGORY_FIELDS)}


def normalise(facts: Mapping[str, Mapping[str, Any]]) -> Facts:
    """Facts with every section present, in document order, values as text."""
    return {section: {str(k): str(v) for k, v in sorted(facts.get(section, {}).items())} for section in SECTIONS}


def markdown(org_name: str, org_id: str, version: int, generated_at: str, generated_by: str, facts: Facts) -> str:
    """The document as Markdown: a heading, then one table per section."""
    lines = [
        f"# Data protection impact assessment and record of processing: {org_name}",
        "",
        f"Organisation `{org_id}`, version {version}, generated {generated_at} by {generated_by} from the live configuration.",
        "",
    ]
    for section, items in facts.items():
        lines += [f"## {section}", ""]
        if not items:
            lines += ["None.", ""]
            continue
        lines += ["| item | configured |", "|---|---|"]
        lines += [f"| {_cell(k)} | {_cell(v)} |" for k, v in items.items()]
        lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def content_hash(facts: Facts) -> str:
    """SHA-256 of the facts' Markdown body (without the heading, which names the version
    and its time): two generations of the same configuration hash alike."""
    body = markdown("", "", 0, "", "", facts)
    return hashlib.sha256(body.encode()).hexdigest()


def fact_changes(before: Facts, after: Facts) -> list[dict[str, str | None]]:
    """Each fact that differs, e.g. {"section": "Sharing", "item": "with avon-and-somerset",
    "before": "descriptions", "after": "full", "text": "Sharing with avon-and-somerset: descriptions → full"}."""
    changes: list[dict[str, str | None]] = []
    for section in SECTIONS:
        old, new = before.get(section, {}), after.get(section, {})
        for item in sorted(set(old) | set(new)):
            a, b = old.get(item), new.get(item)
            if a == b:
                continue
            text = f"{section} {item}: {a if a is not None else '(none)'} → {b if b is not None else '(none)'}"
            changes.append({"section": section, "item": item, "before": a, "after": b, "text": text})
    return changes


def unified_diff(before_md: str, after_md: str, before_name: str, after_name: str) -> str:
    """The Markdown's line differences, as `diff -u` prints them."""
    return "".join(difflib.unified_diff(before_md.splitlines(keepends=True), after_md.splitlines(keepends=True), before_name, after_name))


def as_document(org_name: str, org_id: str, version: int, generated_at: str, sha256: str, facts: Facts) -> CourtDocument:
    """The same facts laid out for the PDF renderer."""
    blocks: list[Heading | Para | Table] = []
    for section, items in facts.items():
        blocks.append(Heading(section))
        if items:
            blocks.append(Table(headers=("item", "configured"), rows=tuple((k, v) for k, v in items.items()), widths=(2, 5)))
        else:
            blocks.append(Para("None."))
    return CourtDocument(
        title=f"DPIA and record of processing: {org_name}",
        subtitle=(f"Organisation {org_id}, version {version}, generated {generated_at} from the live configuration.",),
        blocks=tuple(blocks),
        footer=f"DPIA {org_id} version {version}. Content SHA-256 {sha256}.",
        marking="OFFICIAL",
        keywords=("DPIA", org_id, f"v{version}"),
    )
