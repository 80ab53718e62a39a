"""The public pages a recipient outside Vigil opens from a package share's email:
`/shared/{token}` (what was shared, the one-time code form, then the download).

No sign-in: the link's token names the share and the code proves the recipient. The
right code sets a grant cookie of this link's own (scoped to its path, HttpOnly, Strict),
never a console session. Every view, code and download is audited by the service."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from functions.console.render import finish, page
from functions.http.deps import ContainerDep
from shared.domain.disclosure import CODE_DIGITS, GRANT_MINUTES
from shared.domain.errors import Gone, Invalid, NotFound, Unauthorized
from shared.domain.evidence import ascii_filename

router = APIRouter(include_in_schema=False)

GRANT_COOKIE = "vigil_share_grant"
Token = Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


def _base(token: str) -> str:
    return f"/shared/{token}"


def _private(response: Response) -> Response:
    # The address holds the link's secret: never sent on to another site as a referrer.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _ended(request: Request, exc: Gone | NotFound) -> Response:
    status = 410 if isinstance(exc, Gone) else 404
    return _private(page(request, "shared/gone.html", status=status, detail=exc.detail))


def _show(request: Request, c, token: str, *, status: int = 200, problem: str | None = None) -> Response:
    try:
        share = c.disclosure.recipient.view(token, request.cookies.get(GRANT_COOKIE))
    except (Gone, NotFound) as exc:
        return _ended(request, exc)
    return _private(
        page(
            request,
            "shared/package.html",
            status=status,
            share=share,
            base=_base(token),
            problem=problem,
            code_digits=CODE_DIGITS,
            grant_minutes=GRANT_MINUTES,
        )
    )


@router.get("/shared/{token}")
def shared_package(request: Request, token: Token, c: ContainerDep) -> Response:
    """What was shared, by whom, until when, its manifest; the code form or the download."""
    return _show(request, c, token)


@router.post("/shared/{token}/code")
async def shared_code(request: Request, token: Token, c: ContainerDep) -> Response:
    """The one-time code: right, a grant cookie and back to the page; wrong, the page
    again with the tries left; the last wrong try, 410."""
    # No CSRF token: the link's own secret is what a forged post would need, and having it
    # one can post from anywhere; the grant cookie is Strict, so no other site sends it.
    raw = (await request.body())[:2000]
    fields = dict(parse_qsl(raw.decode("utf-8", "replace"), max_num_fields=5))
    try:
        grant = c.disclosure.recipient.enter_code(token, fields.get("code", ""))
    except (Gone, NotFound) as exc:
        return _ended(request, exc)
    except Invalid as exc:
        return _show(request, c, token, status=422, problem=exc.detail)
    response = finish(request, RedirectResponse(_base(token), status_code=303))
    response.set_cookie(GRANT_COOKIE, grant, max_age=GRANT_MINUTES * 60, path=_base(token), secure=True, httponly=True, samesite="strict")
    return _private(response)


@router.get("/shared/{token}/package")
def shared_download(request: Request, token: Token, c: ContainerDep) -> Response:
    """The package: a redirect to a short-lived storage URL in Azure, streamed locally."""
    try:
        got = c.disclosure.recipient.download(token, request.cookies.get(GRANT_COOKIE))
    except (Gone, NotFound) as exc:
        return _ended(request, exc)
    except Unauthorized as exc:
        return _show(request, c, token, status=401, problem=exc.detail)
    if got.url:
        return _private(finish(request, RedirectResponse(got.url, status_code=303)))
    headers = {
        "Content-Disposition": f'attachment; filename="{ascii_filename(got.filename)}"',
        "Content-Length": str(got.size),
        "X-Package-SHA256": got.sha256,
        "Cache-Control": "no-store",
    }
    assert got.body is not None
    return _private(StreamingResponse(got.body, media_type="application/zip", headers=headers))
