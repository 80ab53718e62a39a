"""Domain errors. Each carries the problem type and HTTP status it is reported with.

Services raise these; the HTTP layer turns them into RFC 9457 problem details.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra


class MalformedBody(DomainError):
    status, slug, title = 400, "malformed-json", "Malformed JSON"


class MalformedHeader(DomainError):
    status, slug, title = 400, "malformed-header", "Malformed header"


class Unauthorized(DomainError):
    status, slug, title = 401, "unauthorized", "Sign-in required"


class Forbidden(DomainError):
    status, slug, title = 403, "forbidden", "Not allowed"


class NotFound(DomainError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    status, slug, title = 409, "conflict", "Conflict"


class Gone(DomainError):
    status, slug, title = 410, "gone", "No longer held"


class IntegrityFailure(DomainError):
    """Stored evidence that is missing or no longer matches its recorded digest: it is
    never served as if intact."""

    status, slug, title = 409, "evidence-integrity-failure", "Stored evidence failed its integrity check"


class PreconditionFailed(DomainError):
    status, slug, title = 412, "precondition-failed", "The record has changed"


class PayloadTooLarge(DomainError):
    status, slug, title = 413, "payload-too-large", "Request too large"


class UnsupportedMediaType(DomainError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class Misdirected(DomainError):
    status, slug, title = 421, "wrong-region", "Organisation not served by this region"


class Invalid(DomainError):
    status, slug, title = 422, "validation-error", "The request is not valid"


class PreconditionRequired(DomainError):
    status, slug, title = 428, "precondition-required", "If-Match required"


class Unavailable(DomainError):
    status, slug, title = 503, "unavailable", "A backing store is unavailable"
