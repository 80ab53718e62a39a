"""The intake benchmark's stamp: `functions.local_runner` exactly as `make run` starts it,
plus one bench-only route, `POST /api/v1/bench/floor`, so production code carries no
benchmark route.

The floor route goes through everything a report goes through before the service (the
same uvicorn, middleware, routing, token check and role check, the same `IncidentIn`
body validation and a 201 answer with a Location) and then writes ONE row in one unit of
work of the same record store. Intake's figures divided by the floor's, measured in the
same run against the same process, say how much of a report's cost is the service and
its rows rather than the HTTP stack and the machine.

    PYTHONPATH=. python bench/floor_stamp.py      # as `python -m functions.local_runner`

The code served is whatever PYTHONPATH names (bench/intake.py's `--code` points it at
another checkout, to measure the code before a change with the same harness).
"""

from __future__ import annotations

import uuid

from fastapi import FastAPI, Response

from functions import local_runner
from functions.http.deps import API_PREFIX, ContainerDep
from functions.http.incidents import Reporter
from shared.domain.incident_report import IncidentIn
from shared.records import D2P_SETTINGS

FLOOR_PATH = f"{API_PREFIX}/bench/floor"
# A partition nothing else reads; D2P_SETTINGS has no indexed fields, so one insert is one row.
FLOOR_TENANT = "bench-floor"


def with_floor(app: FastAPI) -> FastAPI:
    """Mount the floor route on a built app (Starlette builds its middleware stack on the
    first request, so a route added now runs inside all of it)."""

    def floor(body: IncidentIn, principal: Reporter, container: ContainerDep, response: Response) -> dict[str, str]:
        row_id = str(uuid.uuid4())
        with container.records.unit_of_work() as uow:
            uow.insert(D2P_SETTINGS.name, FLOOR_TENANT, {"id": row_id, "store_id": body.store_id, "by": principal.user_id})
        response.headers["Location"] = f"{FLOOR_PATH}/{row_id}"
        return {"id": row_id, "store_id": body.store_id}

    app.router.add_api_route(FLOOR_PATH, floor, methods=["POST"], status_code=201, include_in_schema=False)
    return app


def main() -> None:
    build = local_runner.create_app
    local_runner.create_app = lambda container=None: with_floor(build(container))
    local_runner.main()


if __name__ == "__main__":
    main()
