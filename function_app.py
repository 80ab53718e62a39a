"""Azure Functions entry point: the HTTP app behind one catch-all function, plus the
timer and queue triggers. Vigil checks bearer tokens itself, so the auth level is anonymous."""

import azure.functions as func

from functions.http.app import create_app
from functions.triggers import blueprint
from shared import telemetry
from shared.bootstrap import default_container

# Before the app is made: the FastAPI instrumentation wraps apps created after it.
telemetry.start(default_container())
app = func.AsgiFunctionApp(app=create_app(), http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(blueprint)
