"""The mapping between stored documents and the records services work with.

A record store hands back documents with storage metadata added: `_etag` (the version a
change must name) and `_tenant` (the partition the document lives in). This module is
the one place that reads and removes it, so no service strips keys by hand and a record
never leaves with its storage details.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def body(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The document without storage metadata: what a service writes back or presents."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def etag(doc: Mapping[str, Any]) -> str:
    """The stored version of a document read from a unit of work."""
    return str(doc["_etag"])


def tenant(doc: Mapping[str, Any]) -> str:
    """The partition (organisation) a document read across tenants lives in."""
    return str(doc["_tenant"])


@dataclass(frozen=True)
class Stored(Generic[M]):
    """A typed record as read, with the version a change must name."""

    record: M
    etag: str
    tenant: str | None = None


def load(model: type[M], doc: Mapping[str, Any]) -> Stored[M]:
    """Read a stored document as its aggregate, keeping its ETag and partition."""
    return Stored(record=model.model_validate(body(doc)), etag=etag(doc), tenant=doc.get("_tenant"))


def dump(record: BaseModel) -> dict[str, Any]:
    """An aggregate as the document to store (JSON types: times as ISO 8601 text)."""
    return record.model_dump(mode="json")
