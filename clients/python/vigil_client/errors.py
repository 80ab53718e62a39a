"""Errors the client raises: a problem-details answer from the API, or no answer at all."""

from __future__ import annotations

from typing import Any

import httpx


class VigilError(Exception):
    """Base of every error the client raises."""


class VigilProblem(VigilError):
    """The API answered with an error (RFC 9457 problem details).

    `errors` names the fields at fault (`[{"field": ..., "message": ...}]`); `extra` holds
    any other member of the problem (e.g. `received` for an upload at the wrong offset)."""

    def __init__(
        self,
        status: int,
        type: str,
        title: str,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
        *,
        instance: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: httpx.Headers | None = None,
    ):
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.instance = instance
        self.extra = extra or {}
        self.headers = headers if headers is not None else httpx.Headers()

    @property
    def retryable(self) -> bool:
        """True for answers that may succeed later as they stand (rate limits, overload)."""
        return self.status in (408, 425, 429, 500, 502, 503, 504)

    @classmethod
    def from_response(cls, response: httpx.Response) -> VigilProblem:
        """The problem an error answer carries; a non-problem body becomes its detail."""
        body: Any = None
        try:
            body = response.json()
        except ValueError:
            pass
        if not isinstance(body, dict):
            text = response.text[:500] if response.content else response.reason_phrase
            return cls(response.status_code, "about:blank", response.reason_phrase or "Error", text, headers=response.headers)
        known = {"status", "type", "title", "detail", "errors", "instance"}
        return cls(
            int(body.get("status") or response.status_code),
            str(body.get("type") or "about:blank"),
            str(body.get("title") or response.reason_phrase or "Error"),
            str(body.get("detail") or ""),
            [e for e in body.get("errors") or [] if isinstance(e, dict)],
            instance=body.get("instance"),
            extra={k: v for k, v in body.items() if k not in known},
            headers=response.headers,
        )

    def __str__(self) -> str:
        fields = ", ".join(str(e.get("field")) for e in self.errors if e.get("field"))
        return f"{self.status} {self.title}: {self.detail}" + (f" (fields: {fields})" if fields else "")


class VigilNetworkError(VigilError):
    """No answer from the API after the client's retries (connection refused, cut, timed out)."""


class IntegrityError(VigilError):
    """The stored evidence's SHA-256 is not the one of the file sent."""


class SignInError(VigilError):
    """A token could not be obtained (msal error, local stamp unreachable, bad configuration)."""
