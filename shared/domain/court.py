"""Court documents in words: the MG11 witness statement, the Impact Statement for
Business and the case summary, each as a `CourtDocument` (headings, paragraphs, fields,
tables, spaces to complete) that a renderer lays out as PDF.

Pure: no I/O, no clock. Times are shown in the region's local time, in words; no raw id
(incident, evidence, user) appears in any document: items are named by exhibit label,
people by name or role, organisations by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from shared.domain.d2p import OUTCOME_CODES
from shared.domain.d2p_rules import CATEGORY_WORDS, FLAG_NAMES, FLAG_WORDS, money_words
from shared.domain.statements import SECTION_9_DECLARATION, signature_holds
from shared.domain.timestamps import from_iso

# The local time of each region's courts. A region spanning several zones (au, us, ca)
# shows its most populous one; a force elsewhere in it reads the offset printed with
# each time.
REGION_TIME_ZONES = {
    "uk": "Europe/London",
    "au": "Australia/Sydney",
    "nz": "Pacific/Auckland",
    "us": "America/New_York",
    "ca": "America/Toronto",
}
# What the renderer replaces with the page count once every page is laid out.
PAGE_COUNT = "{nb}"

KIND_WORDS = {
    "cctv": "CCTV recording",
    "suspect_image": "image of the suspect",
    "photo": "photograph",
    "statement": "statement",
    "audio": "audio recording",
    "document": "document",
    "other": "other item",
}
ROLE_WORDS = {
    "Retailer.Reporter": "store staff",
    "Retailer.Investigator": "retailer investigator",
    "Retailer.Admin": "retailer administrator",
    "Police.Officer": "police officer",
    "Police.Analyst": "police analyst",
    "Police.Admin": "police administrator",
    "Platform.Operator": "Vigil operator",
    "Device.Anpr": "camera system",
}
EVENT_WORDS = {
    "received": "received",
    "stored": "stored write-once",
    "viewed": "viewed",
    "downloaded": "downloaded",
    "exported": "exported in a court package",
    "redacted": "redacted copy made",
    "verified": "checked against its SHA-256",
    "held": "placed on legal hold",
    "released": "released from legal hold",
    "deleted": "deleted",
    "integrity_failed": "failed its integrity check",
}


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Para:
    text: str
    bold: bool = False
    small: bool = False


@dataclass(frozen=True)
class Fields:
    """Label and value pairs, one per line."""

    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[int, ...]  # relative column widths


@dataclass(frozen=True)
class Blank:
    """A labelled space for whoever completes the form by hand."""

    label: str
    lines: int = 4


Block = Heading | Para | Fields | Table | Blank


@dataclass(frozen=True)
class CourtDocument:
    """One document: its title, the lines under it, its body, and the line every page
    repeats above "Page X of N" (the MG11's signature line)."""

    title: str
    subtitle: tuple[str, ...]
    blocks: tuple[Block, ...]
    footer: str
    marking: str = "OFFICIAL-SENSITIVE (when complete)"
    keywords: tuple[str, ...] = field(default_factory=tuple)


def zone_of(region: str) -> ZoneInfo:
    """The time zone court papers of `region` are written in."""
    return ZoneInfo(REGION_TIME_ZONES.get(region, "UTC"))


def local_words(iso: str | None, zone: ZoneInfo) -> str:
    """A stored time as people read it: "Friday 20 November 2026 at 14:32 GMT"."""
    if not iso:
        return "not recorded"
    moment = from_iso(iso).astimezone(zone)
    return f"{moment:%A} {moment.day} {moment:%B %Y} at {moment:%H:%M} {moment.tzname()}"


def size_words(n: int | None) -> str:
    if n is None:
        return "size unknown"
    if n < 1024:
        return f"{n} bytes"
    size = float(n)
    for unit in ("KB", "MB", "GB", "TB"):
        size /= 1024
        if size < 1024 or unit == "TB":
            return f"{size:.1f} {unit}"
    return f"{n} bytes"


def actor_words(event: dict[str, Any], org_names: dict[str, str]) -> str:
    """Who acted, by role and organisation name, never by user id."""
    role = ROLE_WORDS.get(event.get("actor_role") or "", "")
    org = org_names.get(event.get("actor_org") or "", "")
    if not role and not org:
        return "Vigil (automatic)"
    return ", ".join(x for x in (role, org) if x)


def _person_words(p: dict[str, Any]) -> str:
    d = p.get("description") or {}
    parts = [str(p.get("role") or "suspect")]
    if p.get("name"):
        parts.append(f"named {p['name']}")
    if p.get("date_of_birth"):
        parts.append(f"born {p['date_of_birth']}")
    if p.get("under_18"):
        parts.append("under 18")
    if d.get("build") and d.get("build") != "unknown":
        parts.append(f"{d['build']} build")
    if d.get("height_min_cm") or d.get("height_max_cm"):
        parts.append(f"{d.get('height_min_cm') or '?'} to {d.get('height_max_cm') or '?'} cm tall")
    for key, words in (
        ("apparent_age_range", "apparent age"),
        ("hair", "hair"),
        ("clothing", "clothing"),
        ("distinguishing_marks", "distinguishing marks"),
    ):
        if d.get(key):
            parts.append(f"{words}: {d[key]}")
    if p.get("offender_id"):
        parts.append("known to the retailer from earlier incidents")
    return "; ".join(parts)


def _goods_rows(goods: list[dict[str, Any]]) -> tuple[tuple[str, ...], ...]:
    return tuple(
        (
            str(g["description"]),
            str(g.get("quantity", 1)),
            money_words(g["unit_value"]["amount_minor"], g["unit_value"]["currency"]),
            money_words(g["unit_value"]["amount_minor"] * g.get("quantity", 1), g["unit_value"]["currency"]),
            "yes" if g.get("recovered") else "no",
        )
        for g in goods
    )


def _losses(goods: list[dict[str, Any]]) -> tuple[str, str]:
    """(total value, value not recovered) in words."""
    if not goods:
        return "none recorded", "none recorded"
    currency = goods[0]["unit_value"]["currency"]
    total = sum(g["unit_value"]["amount_minor"] * g.get("quantity", 1) for g in goods)
    lost = sum(g["unit_value"]["amount_minor"] * g.get("quantity", 1) for g in goods if not g.get("recovered"))
    return money_words(total, currency), money_words(lost, currency)


@dataclass(frozen=True)
class Exhibit:
    """An evidence item as court papers name it."""

    label: str
    kind: str
    filename: str
    size: int
    sha256: str
    received_at: str
    path: str  # where the file sits in the package
    derived_from_label: str | None = None
    custody: tuple[dict[str, Any], ...] = ()

    @property
    def what(self) -> str:
        text = KIND_WORDS.get(self.kind, self.kind)
        return f"{text} (redacted or derived copy of {self.derived_from_label})" if self.derived_from_label else text


@dataclass(frozen=True)
class CaseFacts:
    """What every document of one incident draws on, names already resolved."""

    incident: dict[str, Any]
    retailer_name: str
    store: dict[str, Any]  # name, address, postcode
    force_name: str
    zone: ZoneInfo
    crime_references: tuple[str, ...] = ()
    exhibits: tuple[Exhibit, ...] = ()
    dispatches: tuple[dict[str, Any], ...] = ()
    outcomes: tuple[dict[str, Any], ...] = ()
    org_names: dict[str, str] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        return str(self.incident.get("reference") or "")

    @property
    def crime_reference_words(self) -> str:
        return ", ".join(self.crime_references) if self.crime_references else "not yet given by the force"

    @property
    def store_words(self) -> str:
        s = self.store
        return ", ".join(x for x in (s.get("name"), s.get("address"), s.get("postcode")) if x)

    def when(self, iso: str | None) -> str:
        return local_words(iso, self.zone)


def mg11_statements(incident: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements that can be printed as an MG11: made under the section 9
    declaration, signed, still reading as signed, and with the witness's name shown."""
    return [w for w in incident.get("witnesses", []) if w.get("name") and signature_holds(w)]


def mg11(witness: dict[str, Any], facts: CaseFacts) -> CourtDocument:
    """An MG11 witness statement: the section 9 declaration, who the witness is, the
    statement, and its signature record (the SHA-256 of what was signed, and when)."""
    name = str(witness["name"])
    age = witness.get("age_if_under_18")
    signed = facts.when(witness.get("signed_at"))
    blocks: list[Block] = [
        Fields(
            (
                ("Statement of", name),
                ("Age if under 18", str(age) if age is not None else "over 18"),
                ("Occupation", str(witness.get("occupation") or "not given")),
                ("Crime reference", facts.crime_reference_words),
                ("Vigil reference", facts.reference),
            )
        ),
        Para(SECTION_9_DECLARATION.format(pages=PAGE_COUNT), bold=True),
        Fields(
            (
                ("Signature", f"{name} (signed electronically)"),
                ("Date and time signed", signed),
                ("Signature record", f"SHA-256 {witness['signature_sha256']}"),
            )
        ),
        Heading("Statement"),
        Para(str(witness["statement"])),
    ]
    if witness.get("is_reporter") and facts.exhibits:
        blocks.append(Heading("Exhibits I produce"))
        blocks.append(Table(("Exhibit", "What", "File"), tuple((e.label, e.what, e.filename) for e in facts.exhibits), (1, 3, 4)))
    blocks.append(
        Para(
            "The signature record is the SHA-256 of the statement as signed (form, declaration, name, age if under 18, "
            "occupation, statement and signing time, as compact JSON with sorted keys): any change to those words gives "
            "a different record.",
            small=True,
        )
    )
    return CourtDocument(
        title="Witness statement",
        subtitle=("(Criminal Procedure Rules, r 16.2; Criminal Justice Act 1967, s. 9; Magistrates' Courts Act 1980, s. 5B)", "MG11"),
        blocks=tuple(blocks),
        footer=f"Signature: {name} (signed electronically {signed}, SHA-256 {witness['signature_sha256']})    Signature witnessed by: ............",
        keywords=("MG11", facts.reference),
    )


def impact_statement(facts: CaseFacts) -> CourtDocument:
    """An Impact Statement for Business, pre-filled from the incident (business, store,
    offence, goods and their value) for the retailer to complete and sign."""
    inc = facts.incident
    goods = inc.get("goods", [])
    total, lost = _losses(goods)
    blocks: list[Block] = [
        Para(
            "This statement tells the court how the crime affected the business. The details below are filled in from "
            "the report made in Vigil; please check them, complete the sections that follow and sign it. One statement "
            "is made for the business; it may be updated if the effects change.",
        ),
        Heading("The business"),
        Fields(
            (
                ("Business name", facts.retailer_name),
                ("Premises", facts.store_words),
                ("Police force", facts.force_name),
            )
        ),
        Heading("The offence"),
        Fields(
            (
                ("What happened", CATEGORY_WORDS.get(str(inc.get("category")), str(inc.get("category")))),
                ("When", facts.when(inc.get("occurred_at"))),
                ("Crime reference", facts.crime_reference_words),
                ("Vigil reference", facts.reference),
            )
        ),
        Heading("Goods and their value"),
    ]
    if goods:
        blocks.append(Table(("Goods", "Quantity", "Unit value", "Value", "Recovered"), _goods_rows(goods), (5, 2, 2, 2, 2)))
    blocks.append(Fields((("Total value of goods", total), ("Value of goods not recovered", lost))))
    blocks += [
        Heading("Financial impact"),
        Blank("Costs beyond the goods (damage, repairs, extra security, staff time, lost trade)", 5),
        Heading("Operational impact"),
        Blank("Effect on running the store (closures, changed opening hours, goods moved behind the counter)", 5),
        Heading("Impact on staff"),
        Blank("Effect on staff (injury, fear, absence, leaving the job, training or support needed)", 5),
        Heading("Anything else the court should know"),
        Blank("For example, repeat offending at this store and its cumulative effect", 4),
        Heading("Made on behalf of the business by"),
        Blank("Name, position in the business, and that you are authorised to make this statement on its behalf", 3),
        Para(
            "I understand that this statement may be used in criminal proceedings and may be read by the defendant, "
            "and that the court may take it into account when deciding a sentence.",
            bold=True,
        ),
    ]
    return CourtDocument(
        title="Impact Statement for Business",
        subtitle=(f"{facts.retailer_name}: {facts.reference}",),
        blocks=tuple(blocks),
        footer="Signature: ........................................    Date: ....................",
        keywords=("Impact Statement for Business", facts.reference),
    )


def case_summary(facts: CaseFacts, *, generated_at: str, generated_by: str) -> CourtDocument:
    """The package's case summary: everything the force's D2P email says, plus the crime
    reference, the outcome and the exhibits with their custody, in local time and words."""
    inc = facts.incident
    flags = [FLAG_WORDS[f] for f in FLAG_NAMES if (inc.get("flags") or {}).get(f)]
    reporter = inc.get("reporter") or {}
    reporter_words = ", ".join(
        x
        for x in (
            reporter.get("name") or "name withheld",
            reporter.get("job_title"),
            reporter.get("phone"),
        )
        if x
    )
    latest = facts.outcomes[-1] if facts.outcomes else None
    outcome = (
        f"{latest.get('label') or OUTCOME_CODES.get(str(latest.get('code')), '')} (Home Office outcome {latest.get('code')}), "
        f"recorded {facts.when(latest.get('recorded_at'))}" + (f": {latest['note']}" if latest.get("note") else "")
        if latest
        else "no outcome recorded yet"
    )
    total, lost = _losses(inc.get("goods", []))
    blocks: list[Block] = [
        Heading("The case"),
        Fields(
            (
                ("Vigil reference", facts.reference),
                ("Crime reference", facts.crime_reference_words),
                ("Police force", facts.force_name),
                ("Retailer", facts.retailer_name),
                ("Store", facts.store_words),
                ("What happened", CATEGORY_WORDS.get(str(inc.get("category")), str(inc.get("category")))),
                ("Occurred", facts.when(inc.get("occurred_at"))),
                ("Reported", facts.when(inc.get("reported_at"))),
                ("Aggravating features", ", ".join(flags) if flags else "none"),
                ("Business supports prosecution", "yes" if inc.get("prosecution_supported") else "no"),
                ("Reported by", reporter_words or "not recorded"),
                ("Outcome", outcome),
            )
        ),
        Heading("What happened"),
        Para(str(inc.get("narrative") or "")),
        Heading("Goods and value"),
    ]
    if inc.get("goods"):
        blocks.append(Table(("Goods", "Quantity", "Unit value", "Value", "Recovered"), _goods_rows(inc["goods"]), (5, 2, 2, 2, 2)))
    blocks.append(Fields((("Total value", total), ("Not recovered", lost))))
    persons = [_person_words(p) for p in inc.get("persons", [])]
    if inc.get("persons_withheld"):
        persons.append(f"{inc['persons_withheld']} person(s) under 18 withheld from this copy")
    blocks += [Heading("Offenders"), Para("\n".join(persons) or "none described")]
    vehicles = [
        " ".join(str(x) for x in (v.get("plate_normalised") or v.get("plate"), v.get("colour"), v.get("make"), v.get("model")) if x)
        for v in inc.get("vehicles", [])
    ]
    blocks += [Heading("Vehicles"), Para("\n".join(vehicles) or "none recorded")]
    blocks.append(Heading("Witness statements"))
    witnesses = inc.get("witnesses", [])
    if not witnesses:
        blocks.append(Para("none"))
    for w in witnesses:
        who = f"{w.get('name') or 'name withheld'} ({w.get('kind', 'staff')}{', the reporter' if w.get('is_reporter') else ''})"
        if w.get("signed_at") and signature_holds(w):
            form = f"MG11 under the section 9 declaration, signed {facts.when(w['signed_at'])}"
        elif w.get("signed_at") and w.get("name"):
            form = "signed, but it no longer reads as signed"
        else:
            form = "not made under the section 9 declaration"
        blocks.append(Para(f"{who}: {form}", bold=True))
        blocks.append(Para(str(w.get("statement") or "")))
    blocks.append(Heading(f"Exhibits ({len(facts.exhibits)})"))
    if facts.exhibits:
        blocks.append(
            Table(
                ("Exhibit", "What", "File in this package", "Size", "Received", "SHA-256"),
                tuple((e.label, e.what, e.path, size_words(e.size), facts.when(e.received_at), e.sha256) for e in facts.exhibits),
                (2, 4, 5, 2, 4, 6),
            )
        )
    else:
        blocks.append(Para("none"))
    sent = [d for d in facts.dispatches if d.get("sent_at")]
    if sent:
        blocks.append(Heading("Sent to the police (D2P)"))
        for d in sent:
            line = f"Sent to {facts.org_names.get(d.get('force_id') or '', facts.force_name)} {facts.when(d['sent_at'])}"
            if d.get("acknowledged_at"):
                line += f"; acknowledged {facts.when(d['acknowledged_at'])}"
            if d.get("crime_reference"):
                line += f" with crime reference {d['crime_reference']}"
            blocks.append(Para(line))
    blocks.append(Heading("Chain of custody"))
    for e in facts.exhibits:
        blocks.append(Para(f"{e.label}: {e.filename}", bold=True))
        lines = [
            f"{facts.when(ev.get('at'))}: {EVENT_WORDS.get(str(ev.get('event')), str(ev.get('event')))} by {actor_words(ev, facts.org_names)}"
            + (f" for {ev['purpose']}" if ev.get("purpose") else "")
            for ev in e.custody
        ]
        blocks.append(Para("\n".join(lines) or "no events recorded", small=True))
    blocks += [
        Heading("Checking this package"),
        Para(
            "manifest.json lists every file of this package with its size and SHA-256; each exhibit's custody log is in "
            "the custody folder. Run verify.py with Python 3 (nothing else is needed) inside the unzipped folder, or "
            "give it the zip: it says whether every file is intact or names each file changed, added or removed. The "
            "SHA-256 of manifest.json is recorded as an 'exported' event in each exhibit's chain of custody in Vigil.",
            small=True,
        ),
    ]
    return CourtDocument(
        title="Case summary",
        subtitle=(
            f"{facts.reference}: {facts.retailer_name}, {facts.store.get('name') or ''}",
            f"Prepared {generated_at} for {generated_by}",
        ),
        blocks=tuple(blocks),
        footer=f"Case summary {facts.reference}, crime reference {facts.crime_reference_words}",
        keywords=("case summary", facts.reference),
    )
