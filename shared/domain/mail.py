"""A rendered email, the one shape every mail adapter sends (D2P reports, ANPR alerts)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Email:
    """A rendered message, ready for any mail adapter."""

    to: str
    sender: str
    subject: str
    text: str
    html: str
    message_id: str  # RFC 5322 Message-ID (without angle brackets): stable per message, so retries are recognisable
    reply_to: str | None = None  # where the reader's reply goes when not to the sender (no Reply-To when None)
    headers: dict[str, str] = field(default_factory=dict)
    custom_args: dict[str, str] = field(default_factory=dict)  # echoed back by delivery webhooks
