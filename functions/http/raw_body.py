"""Request bodies for routes that take large batches (ANPR reads).

FastAPI parses bodies with the standard library's json module and then validates the
Python objects, on the event loop's thread. For a 500-read batch that was a fifth of the
server's time, and it competed for the GIL with the handler holding the store's write
lock. A route that takes the raw body instead calls `validated`: pydantic parses and
validates the bytes in one pass, on the handler's thread, with the same 400 and 422
problems; `json_body` keeps the body's schema in OpenAPI.
"""

from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


# Models of request bodies that routes validate themselves (see `validated`): create_app
# adds their schemas to OpenAPI's components, where `json_body` refers to them.
SELF_VALIDATED: list[type[BaseModel]] = []


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` documenting a JSON request body of `model` for a route that reads
    the raw body and validates it with `validated`."""
    if model not in SELF_VALIDATED:
        SELF_VALIDATED.append(model)
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def validated(model: type[M], body: bytes) -> M:
    """`model` from raw JSON bytes in one pass (pydantic parses and validates in Rust,
    about twice as fast as json-then-validate on a large batch). Errors are the same 400
    and 422 problems as for bodies FastAPI validates."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None


def add_self_validated_schemas(schema: dict[str, Any]) -> None:
    """Put the self-validated body models (and the models they nest) into components."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in SELF_VALIDATED:
        js = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in js.pop("$defs", {}).items():
            components.setdefault(name, sub)
        components.setdefault(model.__name__, js)
