"""Historical incidents from CSV with a column mapping (`vigil import incidents`).

A mapping is a JSON file:

    {
      "columns":   {"store_id": "Store", "occurred_at": "Date", "category": "Type",
                    "narrative": "Details", "reporter.name": "Reported by",
                    "goods.0.description": "Item", "goods.0.quantity": "Qty",
                    "goods.0.unit_value.amount_minor": "Value (pence)"},
      "constants": {"goods.0.unit_value.currency": "GBP", "prosecution_supported": false},
      "values":    {"category": {"Theft": "shop_theft", "Abuse": "abuse_threats"}},
      "timezone":  "Europe/London",
      "date_formats": ["%d/%m/%Y %H:%M"]
    }

Targets are the API's field names, dotted, with list positions as numbers. An empty cell
sets nothing; a constant under a list position applies only when a column filled that
position.

Each report carries an `external_reference`, which the API keeps unique per organisation
for as long as the incident is kept, so running the same file again, from any machine,
by anyone, any time later, adds nothing. Map your export's own id column to
`external_reference` when it has one; otherwise each row's reference is derived from the
cells the mapping reads (`import-` and a digest), and identical rows are one incident."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

INT_FIELDS = frozenset({"quantity", "amount_minor", "height_min_cm", "height_max_cm", "age_min", "age_max"})
BOOL_FIELDS = frozenset({"prosecution_supported", "is_reporter", "under_18"})
TRUE = frozenset({"1", "true", "yes", "y", "t"})
FALSE = frozenset({"0", "false", "no", "n", "f", ""})


class MappingError(ValueError):
    """The mapping file itself is wrong (usage error)."""


@dataclass
class Mapping:
    columns: dict[str, str]
    constants: dict[str, Any] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    timezone: ZoneInfo | None = None
    date_formats: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path) -> Mapping:
        """Read and check a mapping file."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise MappingError(f"cannot read the mapping {path}: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("columns"), dict) or not data["columns"]:
            raise MappingError(f"{path}: needs a `columns` object of API field -> CSV column")
        unknown = sorted(set(data) - {"columns", "constants", "values", "timezone", "date_formats"})
        if unknown:
            raise MappingError(f"{path}: unknown key(s) {', '.join(unknown)}")
        zone = None
        if data.get("timezone"):
            try:
                zone = ZoneInfo(data["timezone"])
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise MappingError(f"{path}: unknown timezone {data['timezone']!r}") from exc
        return cls(
            columns={str(k): str(v) for k, v in data["columns"].items()},
            constants=dict(data.get("constants") or {}),
            values={str(k): {str(a): str(b) for a, b in v.items()} for k, v in (data.get("values") or {}).items()},
            timezone=zone,
            date_formats=list(data.get("date_formats") or []),
        )


@dataclass
class Row:
    line: int
    cells: dict[str, str]
    body: dict[str, Any] | None
    errors: list[str]

    @property
    def external_reference(self) -> str | None:
        """The reference the API knows this row's incident by (None for a row that did not map)."""
        return (self.body or {}).get("external_reference")

    @property
    def idempotency_key(self) -> str:
        canonical = json.dumps(sorted(self.cells.items()), separators=(",", ":"), ensure_ascii=False)
        return "vigil-import-" + hashlib.sha256(canonical.encode()).hexdigest()[:48]


def _set(target: dict[str, Any], path: str, value: Any, *, create_items: bool) -> None:
    parts = path.split(".")
    node: Any = target
    for here, ahead in zip(parts, parts[1:], strict=False):
        if isinstance(node, list):
            index = int(here)
            while len(node) <= index:
                if not create_items:
                    return
                node.append(None)
            if node[index] is None:
                if not create_items:
                    return
                node[index] = [] if ahead.isdigit() else {}
            node = node[index]
        else:
            if here not in node:
                if not create_items and ahead.isdigit():
                    return
                node[here] = [] if ahead.isdigit() else {}
            node = node[here]
    last = parts[-1]
    if isinstance(node, list):
        index = int(last)
        while len(node) <= index:
            if not create_items:
                return
            node.append(None)
        node[index] = value
    else:
        node[last] = value


def _convert(mapping: Mapping, target: str, raw: str) -> Any:
    leaf = target.rsplit(".", 1)[-1]
    value = raw.strip()
    if target in mapping.values:
        if value not in mapping.values[target]:
            raise ValueError(f"{value!r} is not one of the mapped values ({', '.join(sorted(mapping.values[target]))})")
        value = mapping.values[target][value]
    if leaf in INT_FIELDS:
        return int(value)
    if leaf in BOOL_FIELDS or target.startswith("flags."):
        lowered = value.lower()
        if lowered not in TRUE | FALSE:
            raise ValueError(f"{value!r} is not yes/no")
        return lowered in TRUE
    if leaf == "occurred_at":
        return _moment(mapping, value)
    return value


def _moment(mapping: Mapping, value: str) -> str:
    moment = None
    for fmt in mapping.date_formats:
        try:
            moment = datetime.strptime(value, fmt)
            break
        except ValueError:
            continue
    if moment is None:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date and time this mapping reads") from None
    if moment.tzinfo is None:
        if mapping.timezone is None:
            raise ValueError(f"{value!r} has no UTC offset and the mapping names no timezone")
        moment = moment.replace(tzinfo=mapping.timezone)
    return moment.isoformat()


def _compact(node: Any) -> Any:
    if isinstance(node, list):
        return [_compact(v) for v in node if v is not None]
    if isinstance(node, dict):
        return {k: _compact(v) for k, v in node.items()}
    return node


def map_row(mapping: Mapping, line: int, cells: dict[str, str]) -> Row:
    """One CSV row as an incident report, or the reasons it cannot be one."""
    body: dict[str, Any] = {}
    errors: list[str] = []
    for target, column in mapping.columns.items():
        if column not in cells:
            errors.append(f"{target}: column {column!r} is not in the file")
            continue
        raw = cells[column] or ""
        if not raw.strip():
            continue
        try:
            _set(body, target, _convert(mapping, target, raw), create_items=True)
        except ValueError as exc:
            errors.append(f"{target} (column {column!r}): {exc}")
    for target, value in mapping.constants.items():
        _set(body, target, value, create_items=False)
    if not errors and not body.get("external_reference"):
        body["external_reference"] = derived_reference(mapping, cells)
    return Row(line, cells, None if errors else _compact(body), errors)


def derived_reference(mapping: Mapping, cells: dict[str, str]) -> str:
    """A row's external reference from the cells the mapping reads (trimmed, by column
    name), so columns added to a later export, or the row's position in it, change nothing."""
    read = sorted((column, (cells.get(column) or "").strip()) for column in set(mapping.columns.values()))
    canonical = json.dumps(read, separators=(",", ":"), ensure_ascii=False)
    return "import-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def read_rows(path: str | Path, mapping: Mapping) -> Iterator[Row]:
    """Each data row with the file line it starts on (header is line 1)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None:
            return
        line = reader.line_num + 1
        for cells in reader:
            yield map_row(mapping, line, {k: v for k, v in cells.items() if k is not None})
            line = reader.line_num + 1
