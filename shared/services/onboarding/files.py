"""An onboarding description (organisations, stores, devices, members; the CLI's
`onboard FILE`, the demo seed) applied through the onboarding use cases, item by item.

The description is the truth: each item is read, then written under the version just
read, so the operator need not carry ETags in a file; an item already as described is
left alone ("unchanged"), so applying a file twice changes nothing. The whole file is
checked before anything is written; a refusal from a use case (a store in another
region's force) stops at that item, naming it, with the items before it applied (they
are idempotent: fix the file and apply it again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.domain.errors import DomainError, Invalid, NotFound
from shared.domain.tenancy import Organisation, Principal, Store, StoreAccess
from shared.services.onboarding.access import StoreAccessUseCase
from shared.services.onboarding.common import SUBJECT_PATTERN, Outcome, Upserted
from shared.services.onboarding.organisations import OrganisationsUseCase
from shared.services.onboarding.stores import StoresUseCase


class OrganisationItem(Organisation):
    d2p_rules: dict[str, Any] | None = Field(
        default=None, description="A force's D2P rules (as PUT /d2p/forces/{force_id}/rules takes them, the inbox from control_room_email)"
    )
    # A directory entry only: the organisation is onboarded in its home region's stamp.
    homed_elsewhere: bool = False


class DeviceItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation_id: str
    client_id: str = Field(pattern=SUBJECT_PATTERN)
    name: str | None = Field(default=None, max_length=200)
    stores: list[str]


class MemberItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation_id: str
    user_id: str = Field(pattern=SUBJECT_PATTERN, description="The member's Entra object id")
    stores: list[str]


class OnboardingDescription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisations: list[OrganisationItem] = Field(default_factory=list)
    stores: list[Store] = Field(default_factory=list)
    devices: list[DeviceItem] = Field(default_factory=list)
    members: list[MemberItem] = Field(default_factory=list)


@dataclass(frozen=True)
class ItemResult:
    item: str  # e.g. "stores[0] nw-plymouth"
    outcome: Outcome


def parse_description(data: Any) -> OnboardingDescription:
    """Check a whole description before anything is written: Invalid naming each bad item
    and field (e.g. `stores[1].force_id`)."""
    try:
        return OnboardingDescription.model_validate(data)
    except ValidationError as exc:
        errors = []
        for e in exc.errors():
            loc = [str(p) for p in e["loc"]]
            field = loc[0] + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc[1:])
            errors.append({"field": field, "message": e["msg"]})
        raise Invalid("; ".join(f"{e['field']}: {e['message']}" for e in errors[:10]), errors=errors) from None


@dataclass
class OnboardingFileUseCase:
    organisations: OrganisationsUseCase
    stores: StoresUseCase
    devices: StoreAccessUseCase
    members: StoreAccessUseCase

    def apply(self, principal: Principal, description: OnboardingDescription) -> list[ItemResult]:
        """Apply every item in order (organisations, stores, devices, members); what each did.
        A DomainError names the item (`stores[2] ct-leeds: ...`) and its fields."""
        results: list[ItemResult] = []
        for i, org in enumerate(description.organisations):
            profile = Organisation.model_validate(org.model_dump(exclude={"d2p_rules", "homed_elsewhere"}))
            results.append(self._item(f"organisations[{i}] {org.id}", self._organisation, principal, profile, org))
        for i, store in enumerate(description.stores):
            results.append(self._item(f"stores[{i}] {store.id}", self._store, principal, store))
        for i, device in enumerate(description.devices):
            access = StoreAccess(
                kind="device", subject=device.client_id, organisation_id=device.organisation_id, stores=device.stores, name=device.name
            )
            results.append(self._item(f"devices[{i}] {device.client_id}", self._access, principal, self.devices, access))
        for i, member in enumerate(description.members):
            access = StoreAccess(kind="member", subject=member.user_id, organisation_id=member.organisation_id, stores=member.stores)
            results.append(self._item(f"members[{i}] {member.user_id}", self._access, principal, self.members, access))
        return results

    @staticmethod
    def _item(label: str, apply: Callable[..., Upserted], *args: Any) -> ItemResult:
        try:
            return ItemResult(label, apply(*args).outcome)
        except DomainError as exc:
            named = type(exc)(f"{label}: {exc.detail}", errors=[{**e, "item": label} for e in exc.errors], **exc.extra)
            raise named from exc

    def _organisation(self, principal: Principal, profile: Organisation, item: OrganisationItem) -> Upserted:
        etag = self.organisations.read_etag(principal, profile.id)
        if item.homed_elsewhere:
            return self.organisations.note_homed_elsewhere(principal, profile, etag)
        return self.organisations.put(principal, profile, etag, d2p_rules=item.d2p_rules)

    def _store(self, principal: Principal, store: Store) -> Upserted:
        try:
            etag: str | None = self.stores.get(principal, store.organisation_id, store.id).etag
        except NotFound:
            etag = None
        return self.stores.put(principal, store, etag)

    @staticmethod
    def _access(principal: Principal, use_case: StoreAccessUseCase, access: StoreAccess) -> Upserted:
        try:
            etag: str | None = use_case.get(principal, access.organisation_id, access.subject).etag
        except NotFound:
            etag = None
        return use_case.put(principal, access, etag)
