"""Subject-request routes: the organisation the person approached records the identity
check; the operator routes, reads and extends the request (never seeing who holds what);
each organisation reads its tasks, answers them and downloads the export bundle. Thin: parse,
check the role, one service call; the route chooses the status and headers, and its
output model what leaves."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Response

from functions.http.deps import API_PREFIX, ContainerDep, PageCursor, require
from functions.http.problems import AUTH_ERRORS, responses
from shared.domain.retention import ExtensionIn, IdentityCheckIn, SubjectRequestIn, TaskAnswerIn
from shared.domain.tenancy import Principal, Role
from shared.services.subject_requests.results import ExportBundle, IdentityCheck, SubjectRequest, TaskDetail, TaskPage
from shared.settings import get_settings

RequestId = Annotated[str, Path(min_length=1, max_length=64, description="Subject request id (an organisation's task has the same id)")]
Operator = Annotated[Principal, Depends(require(Role.PLATFORM_OPERATOR))]
Admin = Annotated[Principal, Depends(require(Role.RETAILER_ADMIN))]
_PAGES = get_settings()

router = APIRouter(tags=["subject requests"])


# ---- the organisation the person approached ---------------------------------------------
@router.post(
    "/subject-requests/identity-checks",
    status_code=201,
    summary="Record how your organisation checked the identity of a person making a request (who, how, when)",
    response_model=IdentityCheck,
    responses=responses(400, *AUTH_ERRORS, 413, 422),
)
def identity_check(body: IdentityCheckIn, principal: Admin, container: ContainerDep):
    return container.subject_requests.identity.record(principal, body)


# ---- the operator -----------------------------------------------------------------------
@router.post(
    "/subject-requests",
    status_code=201,
    summary="Route a person's access or erasure request (identity checked) to every organisation of the region",
    response_model=SubjectRequest,
    # `extended_at` appears only once a deadline has been extended.
    response_model_exclude_unset=True,
    responses=responses(400, *AUTH_ERRORS, 413, 422),
)
def file_request(body: SubjectRequestIn, principal: Operator, container: ContainerDep, response: Response):
    out = container.subject_requests.requests.file(principal, body)
    response.headers["Location"] = f"{API_PREFIX}/subject-requests/{out.id}"
    return out


@router.get(
    "/subject-requests/{request_id}",
    summary="A request: due date, extension and which organisations have answered (never what they hold)",
    response_model=SubjectRequest,
    response_model_exclude_unset=True,
    responses=responses(*AUTH_ERRORS, 404, 422),
)
def get_request(request_id: RequestId, principal: Operator, container: ContainerDep):
    return container.subject_requests.requests.get(principal, request_id)


@router.post(
    "/subject-requests/{request_id}/extension",
    summary="Extend the deadline of a complex request (in the first month; two months at most)",
    response_model=SubjectRequest,
    response_model_exclude_unset=True,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
)
def extend(request_id: RequestId, body: ExtensionIn, principal: Operator, container: ContainerDep):
    return container.subject_requests.requests.extend(principal, request_id, body)


# ---- the organisation -------------------------------------------------------------------
@router.get(
    "/subject-tasks",
    summary="Your organisation's subject-request tasks, soonest due first",
    response_model=TaskPage,
    responses=responses(*AUTH_ERRORS, 422),
)
def tasks(
    principal: Admin,
    container: ContainerDep,
    status: Annotated[str | None, Query(pattern="^(open|answered)$")] = None,
    limit: Annotated[int, Query(ge=1, le=_PAGES.max_page_size)] = _PAGES.default_page_size,
    *,
    page: PageCursor,
):
    found = container.subject_requests.tasks.list(principal, status=status, limit=limit, continuation=page.token)
    return found.model_copy(update={"continuation": page.next(found.continuation)})


@router.get(
    "/subject-tasks/{request_id}",
    summary="One task: the person as described and your matching incidents",
    response_model=TaskDetail,
    responses=responses(*AUTH_ERRORS, 404, 422),
)
def task(request_id: RequestId, principal: Admin, container: ContainerDep):
    return container.subject_requests.tasks.get(principal, request_id)


@router.post(
    "/subject-tasks/{request_id}/answer",
    summary="Answer for some or all matches: approve the export, erase, or refuse with the lawful reason",
    response_model=TaskDetail,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
)
def answer(request_id: RequestId, body: Annotated[TaskAnswerIn, Body()], principal: Admin, container: ContainerDep):
    return container.subject_requests.tasks.answer(principal, request_id, body)


@router.get(
    "/subject-tasks/{request_id}/export",
    summary="The export bundle (JSON) of the matches you approved",
    response_model=ExportBundle,
    responses=responses(*AUTH_ERRORS, 404, 409, 422),
)
def export(request_id: RequestId, principal: Admin, container: ContainerDep, response: Response):
    bundle = container.subject_requests.tasks.export(principal, request_id)
    response.headers["Content-Disposition"] = f'attachment; filename="subject-access-{request_id}.json"'
    return bundle
