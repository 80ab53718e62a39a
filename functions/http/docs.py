"""Interactive API docs served entirely by the app: Swagger UI 5's files (Apache-2.0) come
from the `fastapi-offline` package (MIT), the start-up script from functions/http/static,
nothing from a CDN. Swagger UI 5 because the app's OpenAPI document is 3.1, which Swagger
UI 4 refuses to draw. The page carries a Content-Security-Policy that allows only the
app's own origin."""

from __future__ import annotations

import html
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response

STATIC = Path(__file__).parent / "static"
# The package's files only: importing it would build nothing we use.
SWAGGER_UI = Path(str(files("fastapi_offline") / "static"))
# Only the files the page uses are served (not the bundle's demo index, which loads a remote spec).
ASSETS: dict[str, tuple[Path, str]] = {
    "swagger-ui.css": (SWAGGER_UI / "swagger-ui.css", "text/css; charset=utf-8"),
    "swagger-ui-bundle.js": (SWAGGER_UI / "swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "favicon.png": (SWAGGER_UI / "favicon.png", "image/png"),
    "docs-init.js": (STATIC / "docs-init.js", "text/javascript; charset=utf-8"),
}
# Swagger UI's stylesheet draws its icons as data: SVG images; React sets styles through the
# DOM (not blocked by style-src). Everything else is this origin's.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def install(app: FastAPI, *, prefix: str, openapi_url: str, title: str) -> None:
    docs_url = f"{prefix}/docs"
    assets = f"{docs_url}/assets"

    @app.get(docs_url, include_in_schema=False)
    async def docs() -> HTMLResponse:
        page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)} - docs</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}/favicon.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{html.escape(openapi_url)}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/docs-init.js"></script>
</body>
</html>
"""
        return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_CSP, "Cache-Control": "no-cache"})

    @app.get(assets + "/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        found = ASSETS.get(name)
        if found is None:
            raise HTTPException(404, "No such docs asset.")
        path, media_type = found
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})
