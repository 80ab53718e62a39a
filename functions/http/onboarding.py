"""Onboarding routes: a platform operator creates and changes organisations, stores and
camera devices; a retailer's admin says which stores each of its members acts for."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from functions.http.deps import ContainerDep, IfMatch, etag_header, require
from functions.http.problems import AUTH_ERRORS, responses
from shared.domain.tenancy import EMAIL_PATTERN, Organisation, OrgKind, Principal, Role, Store, StoreAccess
from shared.services.onboarding.common import ID_PATTERN, MAX_STORES_PER_ASSIGNMENT, SUBJECT_PATTERN, Upserted

OrgId = Annotated[str, Path(min_length=1, max_length=64, description="Organisation id, e.g. northwind")]
NewOrgId = Annotated[str, Path(pattern=ID_PATTERN, description="Organisation id: lower-case words joined by hyphens, e.g. dorset-police")]
NewStoreId = Annotated[str, Path(pattern=ID_PATTERN, description="Store id: lower-case words joined by hyphens, e.g. nw-torquay")]
StoreId = Annotated[str, Path(min_length=1, max_length=64, description="Store id, e.g. nw-plymouth")]
ClientId = Annotated[str, Path(pattern=SUBJECT_PATTERN, description="The client id the camera system's tokens carry (azp, or sub)")]
UserId = Annotated[str, Path(pattern=SUBJECT_PATTERN, description="The member's user id: their Entra object id (oid)")]

Operator = Annotated[Principal, Depends(require(Role.PLATFORM_OPERATOR))]
MemberAdmin = Annotated[Principal, Depends(require(Role.RETAILER_ADMIN, Role.PLATFORM_OPERATOR))]

OutcomeField = Field(description="created, changed, or unchanged (the same body again changes nothing)")


class OrganisationIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Dorset Police",
                    "kind": "police_force",
                    "home_region": "uk",
                    "idp_tenant_id": "0b7d4c1e-5a2f-4e8b-9c3d-1f2e3d4c5b6a",
                    "reference_prefix": "DP",
                    "control_room_email": "control-room@dorset.police.example",
                    "contact_email": "vigil-admin@dorset.police.example",
                    "contact_phone": "+44 1202 000000",
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["retailer", "police_force", "national_unit", "platform"]
    home_region: Literal["uk", "au", "nz", "us", "ca"] = Field(description="The region whose stamp holds the organisation's data")
    idp_tenant_id: str = Field(min_length=1, max_length=64, description="The Entra tenant id its users' tokens carry (tid)")
    reference_prefix: str = Field(pattern=r"^[A-Z]{2,5}$", description="Prefix of readable incident references, e.g. NW")
    control_room_email: str | None = Field(
        default=None, pattern=EMAIL_PATTERN, max_length=320, description="A force's D2P control-room inbox (forces only)"
    )
    contact_email: str | None = Field(default=None, pattern=EMAIL_PATTERN, max_length=320, description="A role address for the operator")
    contact_phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()-]{6,32}$")
    d2p_rules: dict[str, Any] | None = Field(
        default=None,
        description="A force's first D2P rules, as its Police.Admin would PUT them (the inbox is control_room_email); once it has rules, its admin owns them",
    )


class OrganisationOut(BaseModel):
    id: str
    name: str
    kind: OrgKind
    home_region: str
    idp_tenant_id: str
    reference_prefix: str
    control_room_email: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    outcome: Literal["created", "changed", "unchanged"] = OutcomeField
    etag: str


class StoreIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Northwind Torquay",
                    "address": "3 Fleet Street, Torquay",
                    "postcode": "TQ1 1BB",
                    "force_id": "devon-and-cornwall",
                    "contact_email": "torquay.security@northwind.example",
                    "latitude": 50.4619,
                    "longitude": -3.5253,
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=500)
    postcode: str = Field(min_length=2, max_length=16)
    force_id: str = Field(min_length=1, max_length=64, description="The police force whose area holds the store (same region)")
    contact_email: str | None = Field(default=None, pattern=EMAIL_PATTERN, max_length=320, description="The store's role mailbox")
    latitude: float | None = Field(
        default=None, ge=-90, le=90, description="WGS84 latitude in degrees (with longitude): lookouts by distance"
    )
    longitude: float | None = Field(default=None, ge=-180, le=180, description="WGS84 longitude in degrees (with latitude)")

    @model_validator(mode="after")
    def _both_coordinates(self) -> "StoreIn":
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        return self


class StoreOut(BaseModel):
    id: str
    organisation_id: str
    name: str
    address: str
    postcode: str
    force_id: str
    contact_email: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    outcome: Literal["created", "changed", "unchanged"] = OutcomeField
    etag: str


class StoresIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"stores": ["nw-plymouth"]}]})

    stores: list[str] = Field(min_length=1, max_length=MAX_STORES_PER_ASSIGNMENT, description="Store ids of the retailer, each once")


class DeviceIn(StoresIn):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Plymouth car park ANPR", "stores": ["nw-plymouth"]}]}
    )

    name: str | None = Field(default=None, max_length=200)


class AccessOut(BaseModel):
    kind: Literal["member", "device"]
    subject: str = Field(description="A member's user id (Entra object id) or a device's client id")
    organisation_id: str
    stores: list[str]
    name: str | None = None
    outcome: Literal["created", "changed", "unchanged"] = OutcomeField
    etag: str


class MembersOut(BaseModel):
    organisation_id: str
    members: list[AccessOut]


router = APIRouter(tags=["onboarding"])


def _out(done: Upserted, response: Response) -> dict[str, Any]:
    response.headers.update(etag_header(done.etag))
    if done.outcome == "created":
        response.status_code = 201
    return {**done.record, "outcome": done.outcome, "etag": f'"{done.etag}"'}


UPSERT_ERRORS = (400, *AUTH_ERRORS, 404, 412, 413, 421, 422, 428)


@router.get(
    "/organisations/{org_id}",
    summary="An organisation's onboarding record (Platform.Operator)",
    response_model=OrganisationOut,
    responses=responses(*AUTH_ERRORS, 404, 421, 422),
    response_description="The organisation, with its ETag",
)
def get_organisation(org_id: OrgId, principal: Operator, container: ContainerDep, response: Response):
    """Reads an organisation homed in this region as onboarded (421 for one homed elsewhere)."""
    return _out(container.onboarding.organisations.get(principal, org_id), response)


@router.put(
    "/organisations/{org_id}",
    summary="Onboard or change a retailer or police force (Platform.Operator; If-Match to change)",
    response_model=OrganisationOut,
    status_code=200,
    responses={**responses(*UPSERT_ERRORS, 409), 201: {"description": "Onboarded", "model": OrganisationOut}},
    response_description="The organisation as stored, unchanged or changed",
)
def put_organisation(
    org_id: NewOrgId, body: OrganisationIn, principal: Operator, container: ContainerDep, response: Response, if_match: IfMatch = None
):
    """Creates an organisation homed in this region, or changes it (If-Match with its ETag).
    A force's control-room inbox becomes its D2P rules' inbox. The same body again changes nothing.
    First rules enrolling a retailer switch D2P on: 409 naming the go-live stage `dpia_approved` until the force's DPIA is approved."""
    org = Organisation.model_validate({"id": org_id, **body.model_dump(exclude={"d2p_rules"})})
    return _out(container.onboarding.organisations.put(principal, org, if_match, d2p_rules=body.d2p_rules), response)


@router.get(
    "/organisations/{org_id}/stores/{store_id}",
    summary="A store's onboarding record (Platform.Operator)",
    response_model=StoreOut,
    responses=responses(*AUTH_ERRORS, 404, 421, 422),
    response_description="The store, with its ETag",
)
def get_store(org_id: OrgId, store_id: StoreId, principal: Operator, container: ContainerDep, response: Response):
    """Reads a store of a retailer homed in this region."""
    return _out(container.onboarding.stores.get(principal, org_id, store_id), response)


@router.put(
    "/organisations/{org_id}/stores/{store_id}",
    summary="Onboard or change a retailer's store (Platform.Operator; If-Match to change)",
    response_model=StoreOut,
    responses={**responses(*UPSERT_ERRORS), 201: {"description": "Onboarded", "model": StoreOut}},
    response_description="The store as stored, unchanged or changed",
)
def put_store(
    org_id: OrgId,
    store_id: NewStoreId,
    body: StoreIn,
    principal: Operator,
    container: ContainerDep,
    response: Response,
    if_match: IfMatch = None,
):
    """Creates or changes a store of a retailer homed here, in the area of a police force of the same region."""
    store = Store.model_validate({"id": store_id, "organisation_id": org_id, **body.model_dump()})
    return _out(container.onboarding.stores.put(principal, store, if_match), response)


@router.put(
    "/organisations/{org_id}/devices/{client_id}",
    summary="Register a camera system and the stores it posts reads for (Platform.Operator)",
    description="A Device.Anpr token whose `stores` claim is absent acts for the stores registered here, found by the token's client id (`azp`, else `appid`, else `sub`).",
    response_model=AccessOut,
    responses={**responses(*UPSERT_ERRORS), 201: {"description": "Registered", "model": AccessOut}},
    response_description="The registration as stored",
)
def put_device(
    org_id: OrgId,
    client_id: ClientId,
    body: DeviceIn,
    principal: Operator,
    container: ContainerDep,
    response: Response,
    if_match: IfMatch = None,
):
    access = StoreAccess(kind="device", subject=client_id, organisation_id=org_id, stores=body.stores, name=body.name)
    return _out(container.onboarding.devices.put(principal, access, if_match), response)


@router.delete(
    "/organisations/{org_id}/devices/{client_id}",
    summary="Deregister a camera system (Platform.Operator)",
    status_code=204,
    responses=responses(*AUTH_ERRORS, 404, 412, 421, 422),
    response_description="Deregistered: its tokens without a stores claim post for no store from the next request",
)
def delete_device(org_id: OrgId, client_id: ClientId, principal: Operator, container: ContainerDep, if_match: IfMatch = None):
    """Removes a camera system's registration (a stolen or retired camera); its reads are refused from its next request."""
    container.onboarding.devices.remove(principal, org_id, client_id, if_match)
    return Response(status_code=204)


@router.get(
    "/organisations/{org_id}/members",
    summary="A retailer's store members and their stores (Retailer.Admin, Platform.Operator)",
    response_model=MembersOut,
    responses=responses(*AUTH_ERRORS, 404, 421, 422),
    response_description="Every member with the stores they act for",
)
def list_members(org_id: OrgId, principal: MemberAdmin, container: ContainerDep):
    """Lists the retailer's members (by Entra object id) and the stores each acts for."""
    found = container.onboarding.members.listing(principal, org_id)
    return {"organisation_id": org_id, "members": [{**d.record, "outcome": "unchanged", "etag": f'"{d.etag}"'} for d in found]}


@router.put(
    "/organisations/{org_id}/members/{user_id}",
    summary="Assign a member to stores (Retailer.Admin of the retailer, Platform.Operator; If-Match to change)",
    description="Where store staff's stores come from when their token has no `stores` claim (Entra ID issues none). Takes effect on the next request to this instance, within 30 seconds on others.",
    response_model=AccessOut,
    responses={**responses(*UPSERT_ERRORS), 201: {"description": "Assigned", "model": AccessOut}},
    response_description="The member's stores as stored",
)
def put_member(
    org_id: OrgId,
    user_id: UserId,
    body: StoresIn,
    principal: MemberAdmin,
    container: ContainerDep,
    response: Response,
    if_match: IfMatch = None,
):
    access = StoreAccess(kind="member", subject=user_id, organisation_id=org_id, stores=body.stores)
    return _out(container.onboarding.members.put(principal, access, if_match), response)


@router.delete(
    "/organisations/{org_id}/members/{user_id}",
    summary="Take every store away from a member (Retailer.Admin of the retailer, Platform.Operator)",
    status_code=204,
    responses=responses(*AUTH_ERRORS, 404, 412, 421, 422),
    response_description="Removed: the member acts for no store from their next request",
)
def delete_member(org_id: OrgId, user_id: UserId, principal: MemberAdmin, container: ContainerDep, if_match: IfMatch = None):
    """Removes the member's store assignment; their next request acts for no store."""
    container.onboarding.members.remove(principal, org_id, user_id, if_match)
    return Response(status_code=204)
