"""Mail in Azure: the SendGrid v3 API through its Python library.

`host` is configurable so tests point the real client at a local stub server. Failures
are sorted for the caller: timeouts, connection errors, 408, 429 and 5xx are transient;
401/403 (our key refused) are transient too, so fixing the key lets the queue finish the
work; every other 4xx (an invalid address, a malformed message) is permanent.
"""

from __future__ import annotations

import urllib.error
from typing import Any

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Content, CustomArg, From, Header, Mail, ReplyTo, To

from shared.ports import PermanentMailError, TransientMailError

TRANSIENT_4XX = {401, 403, 408, 429}


class SendGridMail:
    def __init__(self, api_key: str, *, host: str = "https://api.sendgrid.com", timeout_seconds: float = 10.0):
        self._client = SendGridAPIClient(api_key=api_key, host=host)
        # python_http_client reads `timeout` from the client on every request.
        self._client.client.timeout = timeout_seconds
        self._configured = bool(api_key)

    @classmethod
    def from_settings(cls, settings) -> SendGridMail:
        return cls(settings.sendgrid_api_key, host=settings.sendgrid_host, timeout_seconds=settings.sendgrid_timeout_seconds)

    @staticmethod
    def build(message: Any) -> Mail:
        """The SendGrid request for a rendered message: text and HTML, our Message-ID,
        custom args (echoed by the event webhook), a Reply-To when the message has one, and
        no attachments ever."""
        mail = Mail(from_email=From(message.sender), to_emails=To(message.to), subject=message.subject)
        if getattr(message, "reply_to", None):
            mail.reply_to = ReplyTo(message.reply_to)
        mail.add_content(Content("text/plain", message.text))
        mail.add_content(Content("text/html", message.html))
        mail.add_header(Header("Message-ID", f"<{message.message_id}>"))
        for name, value in message.headers.items():
            mail.add_header(Header(name, value))
        for name, value in message.custom_args.items():
            mail.add_custom_arg(CustomArg(name, value))
        return mail

    def send(self, message: Any) -> str:
        """Post the message; returns SendGrid's X-Message-Id."""
        if not self._configured:
            raise TransientMailError("SendGrid API key is not configured")
        try:
            response = self._client.send(self.build(message))
        except HTTPError as exc:
            status = int(getattr(exc, "status_code", 0) or 0)
            reason = _reason(exc)
            if status >= 500 or status in TRANSIENT_4XX or status == 0:
                raise TransientMailError(f"SendGrid answered {status}: {reason}") from None
            raise PermanentMailError(f"SendGrid refused the message ({status}): {reason}") from None
        except TimeoutError as exc:
            raise TransientMailError(f"SendGrid timed out: {exc}") from None
        except urllib.error.URLError as exc:
            raise TransientMailError(f"SendGrid unreachable: {exc.reason}") from None
        except (ConnectionError, OSError) as exc:
            raise TransientMailError(f"SendGrid connection failed: {exc}") from None
        headers = response.headers or {}
        return headers.get("X-Message-Id") or headers.get("x-message-id") or ""

    def ready(self) -> tuple[bool, str]:
        return (True, "") if self._configured else (False, "SendGrid API key is not configured")


def _reason(exc: HTTPError) -> str:
    try:
        body = exc.to_dict
        errors = body.get("errors") or []
        if errors:
            return "; ".join(str(e.get("message", "")) for e in errors)[:300]
    except Exception:  # noqa: BLE001 - a body that is not JSON: fall back to the reason phrase
        pass
    return str(getattr(exc, "reason", "") or "")[:300]
