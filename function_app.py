"""Azure Functions entry point: the HTTP app behind one catch-all function, plus the
timer and queue triggers. Vigil checks bearer tokens itself, so the auth level is anonymous."""

import azure.functions as func

from functions.http.app import create_app
from functions.triggers import blueprint

app = func.AsgiFunctionApp(app=create_app(), http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(blueprint)
