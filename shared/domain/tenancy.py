"""Organisations, stores, regions, roles and the principal behind a request."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

REGIONS = ("uk", "au", "nz", "us", "ca")
# The civil time zone (IANA name) people of each region read times in: what a force's
# control room sees in a D2P email. One per region: a stamp serves one jurisdiction.
REGION_TIME_ZONES = {
    "uk": "Europe/London",
    "au": "Australia/Sydney",
    "nz": "Pacific/Auckland",
    "us": "America/New_York",
    "ca": "America/Toronto",
}
PLATFORM_TENANT = "_platform"
EMAIL_PATTERN = r"^[^@\s<>\"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$"


class Role(StrEnum):
    RETAILER_REPORTER = "Retailer.Reporter"
    RETAILER_INVESTIGATOR = "Retailer.Investigator"
    RETAILER_ADMIN = "Retailer.Admin"
    POLICE_OFFICER = "Police.Officer"
    POLICE_ANALYST = "Police.Analyst"
    POLICE_ADMIN = "Police.Admin"
    # A national intelligence unit's people: they read and act on what is referred to the
    # unit, and nothing else (docs/referrals.md).
    NATIONAL_UNIT_OFFICER = "NationalUnit.Officer"
    NATIONAL_UNIT_ANALYST = "NationalUnit.Analyst"
    DEVICE_ANPR = "Device.Anpr"
    PLATFORM_OPERATOR = "Platform.Operator"


RETAILER_ROLES = {Role.RETAILER_REPORTER, Role.RETAILER_INVESTIGATOR, Role.RETAILER_ADMIN}
POLICE_ROLES = {Role.POLICE_OFFICER, Role.POLICE_ANALYST, Role.POLICE_ADMIN}
NATIONAL_UNIT_ROLES = {Role.NATIONAL_UNIT_OFFICER, Role.NATIONAL_UNIT_ANALYST}


class OrgKind(StrEnum):
    RETAILER = "retailer"
    POLICE_FORCE = "police_force"
    # A national unit (e.g. opal) sees only the series referred to it: no sharing
    # agreement, force area or dispatch reaches it.
    NATIONAL_UNIT = "national_unit"
    PLATFORM = "platform"


class ShareLevel(StrEnum):
    """How much a retailer shares with a partner (MISP-style distribution depth)."""

    NONE = "none"
    COUNTS = "counts"  # aggregate numbers only
    DESCRIPTIONS = "descriptions"  # incidents and descriptions, no names or dates of birth
    FULL = "full"  # full personal details (minors still excluded)

    @property
    def rank(self) -> int:
        return ["none", "counts", "descriptions", "full"].index(self.value)


class Organisation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    kind: OrgKind
    home_region: Literal["uk", "au", "nz", "us", "ca"]
    idp_tenant_id: str
    reference_prefix: str = Field(description="Prefix of readable incident references, e.g. NW")
    control_room_email: str | None = None
    # Who the platform operator calls about the organisation's use of Vigil: a role address
    # and switchboard, never a named person's own (they outlive staff changes).
    contact_email: str | None = Field(default=None, pattern=EMAIL_PATTERN, max_length=320)
    contact_phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()-]{6,32}$")


class Store(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    organisation_id: str
    name: str
    address: str
    postcode: str
    force_id: str = Field(description="The police force whose area holds the store")
    contact_email: str | None = Field(
        default=None,
        pattern=EMAIL_PATTERN,
        max_length=320,
        description="The store's own mailbox for police replies (a role address, never a person's): the D2P email's Reply-To",
    )
    # Where the store stands (WGS84 degrees): lookouts reach the stores within a distance of
    # a point. Both or neither; a store without them is reached by force area only.
    latitude: float | None = Field(default=None, ge=-90, le=90, description="WGS84 latitude in degrees (with longitude)")
    longitude: float | None = Field(default=None, ge=-180, le=180, description="WGS84 longitude in degrees (with latitude)")

    @model_validator(mode="after")
    def _both_coordinates(self) -> Store:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        return self


class StoreAccess(BaseModel):
    """The stores a person (`member`, keyed by their Entra object id) or a camera system
    (`device`, keyed by the client id its tokens carry) of a retailer acts for: where
    their stores come from when their token names none."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["member", "device"]
    subject: str = Field(description="A member's user id (Entra object id) or a device's client id")
    organisation_id: str
    stores: list[str]
    name: str | None = Field(default=None, description="A device's name (e.g. the camera system's location)")

    @property
    def id(self) -> str:
        return store_access_id(self.kind, self.subject)


def store_access_id(kind: str, subject: str) -> str:
    return f"{kind}:{subject}"


class Principal(BaseModel):
    """Who is asking: from a verified token, mapped to a Vigil organisation."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    organisation_id: str
    organisation_kind: OrgKind
    roles: frozenset[Role]
    stores: frozenset[str] = frozenset()

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def primary_role(self) -> str:
        """The role recorded in audit entries: the most privileged one held."""
        order = list(Role)
        return sorted(self.roles, key=lambda r: order.index(r), reverse=True)[0].value if self.roles else ""

    @property
    def is_police(self) -> bool:
        return self.organisation_kind == OrgKind.POLICE_FORCE

    @property
    def is_retailer(self) -> bool:
        return self.organisation_kind == OrgKind.RETAILER

    @property
    def is_national_unit(self) -> bool:
        return self.organisation_kind == OrgKind.NATIONAL_UNIT


def role_fits_org(role: Role, kind: OrgKind) -> bool:
    """A role is only honoured for the kind of organisation it belongs to.

    A national unit has roles of its own rather than the police ones: every existing route
    admits police roles to what is shared with a force's area, and a unit must reach none
    of it, so its people hold roles no such route admits."""
    if role in RETAILER_ROLES or role == Role.DEVICE_ANPR:
        return kind == OrgKind.RETAILER
    if role in POLICE_ROLES:
        return kind == OrgKind.POLICE_FORCE
    if role in NATIONAL_UNIT_ROLES:
        return kind == OrgKind.NATIONAL_UNIT
    return kind == OrgKind.PLATFORM
