"""Liveness and readiness of each backing store."""

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from functions.http.deps import container
from functions.http.schemas import Health
from shared.bootstrap import Container
from shared.settings import Settings


def router(settings: Settings) -> APIRouter:
    r = APIRouter(tags=["health"])

    @r.get(
        "/healthz",
        summary="Liveness and readiness",
        response_model=Health,
        responses={503: {"model": Health, "description": "A backing store is not ready"}},
    )
    def healthz(c: Container = Depends(container)):
        checks = c.readiness()
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "degraded", "region": c.settings.region, "backend": c.settings.backend, "checks": checks},
            status_code=200 if ok else 503,
        )

    return r
