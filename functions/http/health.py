"""Liveness and readiness of each backing store."""

from fastapi import APIRouter, Response

from functions.http.deps import ContainerDep
from functions.http.schemas import Health

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="Liveness and readiness",
    response_model=Health,
    responses={503: {"model": Health, "description": "A backing store is not ready"}},
    response_description="The service is up; `checks` names each backing store's state",
)
def check_health(container: ContainerDep, response: Response):
    """Whether this instance and its backing stores answer. Public: no token, and it reveals no data."""
    checks = container.readiness()
    ok = all(v == "ok" for v in checks.values())
    if not ok:
        response.status_code = 503
    return Health(status="ok" if ok else "degraded", region=container.settings.region, backend=container.settings.backend, checks=checks)
