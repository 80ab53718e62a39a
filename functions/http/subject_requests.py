"""Subject-request routes: the organisation the person approached records the identity
check; the operator routes, reads and extends the request (never seeing who holds what);
each organisation reads its tasks, answers them and downloads the export bundle. Thin: parse,
check the role, one service call; the route chooses the status and headers, and its
output model what leaves."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Response

from functions.http.deps import API_PREFIX, ContainerDep, PageCursor, require
from functions.http.problems import AUTH_ERRORS, responses
from shared.domain.subject_requests import ExtensionIn, IdentityCheckIn, SubjectRequestIn, TaskAnswerIn
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
    response_description="The identity check as recorded, to cite in a request",
)
def record_identity_check(body: IdentityCheckIn, principal: Admin, container: ContainerDep):
    """Records how your organisation checked the identity of a person making a request (who, how, when), before a request is filed."""
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
    response_description="The request, routed to every organisation of the region",
)
def file_subject_request(body: SubjectRequestIn, principal: Operator, container: ContainerDep, response: Response):
    """Files a person's access or erasure request, identity checked, and routes it to every organisation of the region."""
    out = container.subject_requests.requests.file(principal, body)
    response.headers["Location"] = f"{API_PREFIX}/subject-requests/{out.id}"
    return out


@router.get(
    "/subject-requests/{request_id}",
    summary="A request: due date, extension and which organisations have answered (never what they hold)",
    response_model=SubjectRequest,
    response_model_exclude_unset=True,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The request's deadline and which organisations have answered",
)
def get_subject_request(request_id: RequestId, principal: Operator, container: ContainerDep):
    """A subject request's due date, extension and answers so far; never what any organisation holds."""
    return container.subject_requests.requests.get(principal, request_id)


@router.post(
    "/subject-requests/{request_id}/extension",
    summary="Extend the deadline of a complex request (in the first month; two months at most)",
    response_model=SubjectRequest,
    response_model_exclude_unset=True,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The request with its new deadline",
)
def extend_subject_request(request_id: RequestId, body: ExtensionIn, principal: Operator, container: ContainerDep):
    """Extends the deadline of a complex request, within the first month and by two months at most."""
    return container.subject_requests.requests.extend(principal, request_id, body)


# ---- the organisation -------------------------------------------------------------------
@router.get(
    "/subject-tasks",
    summary="Your organisation's subject-request tasks, soonest due first",
    response_model=TaskPage,
    responses=responses(*AUTH_ERRORS, 422),
    response_description="One page of your organisation's tasks, soonest due first",
)
def list_subject_tasks(
    principal: Admin,
    container: ContainerDep,
    status: Annotated[str | None, Query(pattern="^(open|answered)$")] = None,
    limit: Annotated[int, Query(ge=1, le=_PAGES.max_page_size)] = _PAGES.default_page_size,
    *,
    page: PageCursor,
):
    """The subject requests your organisation must answer, soonest due first."""
    found = container.subject_requests.tasks.list(principal, status=status, limit=limit, continuation=page.token)
    return found.model_copy(update={"continuation": page.next(found.continuation)})


@router.get(
    "/subject-tasks/{request_id}",
    summary="One task: the person as described and your matching incidents",
    response_model=TaskDetail,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The person as described and your incidents that may match",
)
def get_subject_task(request_id: RequestId, principal: Admin, container: ContainerDep):
    """One subject request as your organisation sees it: the person as described and your incidents that may be about them."""
    return container.subject_requests.tasks.get(principal, request_id)


@router.post(
    "/subject-tasks/{request_id}/answer",
    summary="Answer for some or all matches: approve the export, erase, or refuse with the lawful reason",
    response_model=TaskDetail,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The task with your answers recorded",
)
def answer_subject_task(request_id: RequestId, body: Annotated[TaskAnswerIn, Body()], principal: Admin, container: ContainerDep):
    """Answers a task for some or all matches: approve the export, erase, or refuse with the lawful reason."""
    return container.subject_requests.tasks.answer(principal, request_id, body)


@router.get(
    "/subject-tasks/{request_id}/export",
    summary="The export bundle (JSON) of the matches you approved",
    response_model=ExportBundle,
    responses=responses(*AUTH_ERRORS, 404, 409, 422),
    response_description="The export bundle of the matches you approved",
)
def export_subject_task(request_id: RequestId, principal: Admin, container: ContainerDep, response: Response):
    """What your organisation approved for release to the person, as a JSON bundle (recorded in the audit trail)."""
    bundle = container.subject_requests.tasks.export(principal, request_id)
    response.headers["Content-Disposition"] = f'attachment; filename="subject-access-{request_id}.json"'
    return bundle
