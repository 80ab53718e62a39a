"""HTML and text documents rendered from Jinja2 templates under shared/templates/.

Autoescaping is on for HTML, so text a reporter typed (a narrative holding `<script>`)
shows as text in an email or a court summary. A missing variable is an error rather
than a blank, so a template and its caller cannot drift apart silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


class JinjaTemplates:
    def __init__(self, directory: Path = TEMPLATES):
        self.env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=select_autoescape(["html", "htm", "xml"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def render(self, name: str, **context: Any) -> str:
        """Render the template `name` (a path under shared/templates/) with `context`."""
        return self.env.get_template(name).render(**context)
