"""The DPIA's facts, read from what the stamp enforces now: the organisation's records
(stores, members, agreements, D2P rules and settings, schedules, holds) and the code's
own constants (the report form's fields, the refused fields, the roles), never a copy
kept by hand. A fact here that is not enforced somewhere is a bug."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from shared.domain import dpia
from shared.domain.d2p_rules import CurrentRules, D2PSettings
from shared.domain.retention import RecordType, rule_text
from shared.domain.tenancy import PLATFORM_TENANT, REGION_TIME_ZONES, Organisation, OrgKind, ShareLevel
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import (
    ANPR_SETTINGS,
    CHAIN_HEADS,
    D2P_RULES,
    D2P_SETTINGS,
    LEGAL_HOLDS,
    NETWORK_RANGES,
    ORGANISATIONS,
    SHARING,
    STORE_ACCESS,
    STORES,
)
from shared.services.go_live.deps import GoLiveDeps
from shared.services.retention.schedules import schedule_for
from shared.services.sharing import anpr_status

VERIFIED_ID = "verified:audit"  # the last whole-chain verification (shared/services/audit.py)


def collect(deps: GoLiveDeps, uow: UnitOfWork, org: Organisation) -> dpia.Facts:
    """Every section of the DPIA for `org`, as the live configuration states it."""
    retailer = org.kind == OrgKind.RETAILER
    facts: dict[str, dict[str, Any]] = {
        "Organisation": _organisation(org),
        "Data collected": dpia.collected_fields(),
        "Data refused": dpia.refused_fields(),
        "Roles": {r.value: dpia.ROLE_DUTIES.get(r, "") for r in dpia.roles_of(org.kind)},
        "Who acts for the organisation": _members(uow, org) if retailer else _force_people(org),
        "Sharing": _sharing(uow, org),
        "Direct to police": _retailer_d2p(deps, uow, org) if retailer else _force_d2p(uow, org),
        "ANPR": _anpr(deps, uow, org),
        "Retention": _retention(deps, uow, org),
        "Legal holds": _holds(deps, uow, org),
        "Region": _region(deps, org),
        "Network ranges": _network(uow, org),
        "Processors": _processors(deps),
        "Safeguards": _safeguards(deps, uow, org),
    }
    return dpia.normalise(facts)


def _organisation(org: Organisation) -> dict[str, str]:
    return {
        "name": org.name,
        "kind": org.kind.value.replace("_", " "),
        "Entra tenant": org.idp_tenant_id,
        "contact": ", ".join(x for x in (org.contact_email, org.contact_phone) if x) or "none recorded",
    }


def _members(uow: UnitOfWork, org: Organisation) -> dict[str, str]:
    # Counted per store, not listed by object id: the DPIA describes the processing, and a
    # copy of staff identifiers kept with every version would outlive their employment.
    members: Counter[str] = Counter()
    devices: dict[str, list[str]] = {}
    for doc in iterate_all(uow, STORE_ACCESS.name, [org.id], []):
        for store in doc.get("stores", []):
            if doc.get("kind") == "member":
                members[store] += 1
            else:
                devices.setdefault(store, []).append(doc.get("name") or doc.get("subject", ""))
    out = {}
    for store in iterate_all(uow, STORES.name, [PLATFORM_TENANT], [Where("organisation_id", "eq", org.id)]):
        sid = store["id"]
        cams = sorted(devices.get(sid, []))
        out[f"store {sid}"] = (
            f"{store['name']}, in {store['force_id']}'s area; {members[sid]} members assigned; "
            f"{len(cams)} camera systems{(' (' + ', '.join(cams) + ')') if cams else ''}"
        )
    out["role holders"] = f"roles are assigned in Entra tenant {org.idp_tenant_id}; Vigil honours only the roles above"
    return out


def _force_people(org: Organisation) -> dict[str, str]:
    return {
        "role holders": f"roles are assigned in Entra tenant {org.idp_tenant_id}; Vigil honours only the roles above",
        "control-room inbox": org.control_room_email or "none",
    }


def _level_words(level: str) -> str:
    return {
        ShareLevel.NONE.value: "none",
        ShareLevel.COUNTS.value: "counts",
        ShareLevel.DESCRIPTIONS.value: "descriptions",
        ShareLevel.FULL.value: "full",
    }.get(level, level)


def _agreements(uow: UnitOfWork, org: Organisation) -> list[dict[str, Any]]:
    field = "owner_id" if org.kind == OrgKind.RETAILER else "partner_id"
    return [d for d in iterate_all(uow, SHARING.name, [PLATFORM_TENANT], [Where(field, "eq", org.id)]) if d.get("partner_id")]


def _sharing(uow: UnitOfWork, org: Organisation) -> dict[str, str]:
    if org.kind == OrgKind.RETAILER:
        return {f"with {d['partner_id']}": _level_words(d["level"]) for d in _agreements(uow, org)}
    return {f"from {d['owner_id']}": _level_words(d["level"]) for d in _agreements(uow, org)}


def _current_rules(uow: UnitOfWork, force_id: str) -> CurrentRules | None:
    doc = uow.get(D2P_RULES.name, force_id, "current")
    return CurrentRules.model_validate({k: v for k, v in doc.items() if not k.startswith("_")}) if doc else None


def _force_d2p(uow: UnitOfWork, org: Organisation) -> dict[str, str]:
    current = _current_rules(uow, org.id)
    if current is None:
        return {"rules": "none: the force takes no direct reports"}
    rules = current.rules
    return {
        "control-room inbox": rules.control_room_email,
        "enrolled retailers": ", ".join(rules.enrolled_retailers) or "none: no reports are sent",
        "acknowledge within": f"{rules.acknowledge_within_hours} hours",
        "always sent": ", ".join([*rules.always_send_categories, *rules.always_send_flags]) or "nothing",
    }


def _retailer_d2p(deps: GoLiveDeps, uow: UnitOfWork, org: Organisation) -> dict[str, str]:
    out = {}
    forces = iterate_all(uow, ORGANISATIONS.name, [PLATFORM_TENANT], [Where("kind", "eq", OrgKind.POLICE_FORCE.value)])
    for force in forces:
        if force.get("home_region") != deps.settings.region:
            continue
        current = _current_rules(uow, force["id"])
        if current is not None and org.id in current.rules.enrolled_retailers:
            out[f"reports to {force['id']}"] = f"enrolled; sent to {current.rules.control_room_email}"
    doc = uow.get(D2P_SETTINGS.name, org.id, "settings")
    settings = D2PSettings.model_validate({k: v for k, v in doc.items() if not k.startswith("_")}) if doc else D2PSettings()
    out["automatic sending"] = "on" if settings.auto_send else "off (each report sent by a person)"
    return out


def _anpr(deps: GoLiveDeps, uow: UnitOfWork, org: Organisation) -> dict[str, str]:
    out = {}
    for d in _agreements(uow, org):
        status = anpr_status(d)
        if status == "none":
            continue
        label = f"reads offered to {d['partner_id']}" if org.kind == OrgKind.RETAILER else f"reads offered by {d['owner_id']}"
        out[label] = "accepted: the force's vehicles of interest match them" if status == "accepted" else "pending: nothing shared"
    if org.kind == OrgKind.RETAILER:
        doc = uow.get(ANPR_SETTINGS.name, org.id, "settings")
        days = int(doc["read_retention_days"]) if doc and doc.get("read_retention_days") else deps.settings.anpr_read_retention_days
        out["unmatched reads kept"] = f"{days} days"
    return out


def _retention(deps: GoLiveDeps, uow: UnitOfWork, org: Organisation) -> dict[str, str]:
    schedule = schedule_for(deps.retention, uow, org.id)
    out = {}
    for record_type in RecordType:
        months = schedule.months[record_type]
        own = record_type in schedule.overrides
        suffix = f" (the organisation's choice; region default {schedule.rules[record_type].months})" if own else " (region schedule)"
        out[record_type.value] = rule_text(record_type, months).split(": ", 1)[1] + suffix
    return out


def _holds(deps: GoLiveDeps, uow: UnitOfWork, org: Organisation) -> dict[str, str]:
    if org.kind == OrgKind.RETAILER:
        n = uow.count(LEGAL_HOLDS.name, [org.id], [Where("status", "eq", "active")])
        return {"active holds on the organisation's incidents": str(n)}
    retailers = sorted({s["organisation_id"] for s in iterate_all(uow, STORES.name, [PLATFORM_TENANT], [Where("force_id", "eq", org.id)])})
    held = 0
    if retailers:
        held = sum(
            1 for h in iterate_all(uow, LEGAL_HOLDS.name, retailers, [Where("status", "eq", "active")]) if h.get("holder_org") == org.id
        )
    return {"active holds the force placed": str(held)}


def _region(deps: GoLiveDeps, org: Organisation) -> dict[str, str]:
    region = deps.settings.region
    return {
        "home region": org.home_region,
        "stamp": deps.settings.region_base_urls.get(region, "") or f"the {region} stamp",
        "time zone": REGION_TIME_ZONES.get(region, "UTC"),
        "residency": "the organisation's records are held only in its home region's stamp; partners of other regions are refused",
    }


def _network(uow: UnitOfWork, org: Organisation) -> dict[str, str]:
    # Read from the record the request gate enforces ("current"), so the DPIA states what
    # is refused today; an empty list is stated as the absence of a restriction it is.
    doc = uow.get(NETWORK_RANGES.name, org.id, "current")
    staff = list(doc.get("staff", [])) if doc else []
    devices = list(doc.get("devices", [])) if doc else []
    return {
        "staff": ", ".join(staff) if staff else "no restriction: staff can sign in from anywhere",
        "devices and service principals": ", ".join(devices) if devices else "no restriction: devices can connect from anywhere",
    }


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


def _processors(deps: GoLiveDeps) -> dict[str, str]:
    s = deps.settings
    if s.backend == "azure":
        out = {
            "Microsoft Azure Functions": "runs the API and console",
            "Azure Cosmos DB": f"records ({_host(s.cosmos_endpoint)})" if s.cosmos_endpoint else "records",
            "Azure Blob Storage": f"evidence files ({_host(s.evidence_blob_account_url)})"
            if s.evidence_blob_account_url
            else "evidence files",
            "Azure Service Bus": f"work queues ({s.service_bus_namespace})" if s.service_bus_namespace else "work queues",
            "Microsoft Entra ID": "sign-in of the organisation's people (its own tenant)",
        }
    else:
        out = {"none": "local stamp: records in SQLite and files on this machine, mail written to an outbox folder"}
    if s.mail_provider == "sendgrid" or (s.mail_provider == "auto" and s.sendgrid_api_key):
        out["Twilio SendGrid"] = "sends D2P emails and alerts (the email body; no evidence files)"
    return out


def _safeguards(deps: GoLiveDeps, uow: UnitOfWork, org: Organisation) -> dict[str, str]:
    s = deps.settings
    verified = uow.get(CHAIN_HEADS.name, org.id, VERIFIED_ID)
    # Only a break is a fact worth a difference: the daily walk running (or not yet) is not
    # a change of configuration, and would show on every approved version the day after.
    if verified is None or verified.get("verified"):
        last = "no break found"
    else:
        broken = verified.get("first_broken") or {}
        last = f"BROKEN at entry {broken.get('seq', '?')} (found {verified.get('at')})"
    lock = "locked (cannot be shortened or removed)" if s.evidence_policy_locked else "unlocked (time-based retention)"
    return {
        "audit": "every collection, alteration, consultation, disclosure and erasure is an entry in the organisation's own chain",
        "audit chain": f"keyed hash chain (HMAC), walked whole daily and checkpointed: {last}",
        "evidence": f"original kept as received, SHA-256 at upload, custody chain per item; immutability {lock}",
        "encryption": "TLS in transit; Azure storage encryption at rest" if s.backend == "azure" else "TLS in transit; local disk only",
        "sign-in tokens": f"at most {s.auth_max_token_lifetime_seconds // 3600} hours; console sessions end after "
        f"{s.console_idle_minutes} idle minutes, {s.console_absolute_hours} hours at most",
        "special category data": "refused by every form (see Data refused)",
    }
