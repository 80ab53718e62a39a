"""Mail on the embedded backend: each message an RFC 5322 `.eml` file in an outbox folder.

Files are written atomically (a temporary file, fsync, then a hard link to the final
name, which fails if the name exists), and the name comes from the message's stable
Message-ID, so sending one dispatch twice leaves one file.
"""

from __future__ import annotations

import os
import re
import tempfile
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from shared.ports import PermanentMailError, TransientMailError

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def to_mime(message: Any, *, date: str | None = None) -> EmailMessage:
    """The message as RFC 5322 with a plain-text and an HTML alternative."""
    mime = EmailMessage(policy=SMTP)
    mime["From"] = message.sender
    mime["To"] = message.to
    mime["Subject"] = message.subject
    if getattr(message, "reply_to", None):
        mime["Reply-To"] = message.reply_to
    mime["Date"] = date or formatdate(usegmt=True)
    mime["Message-ID"] = f"<{message.message_id}>" if message.message_id else make_msgid()
    for name, value in message.headers.items():
        mime[name] = value
    mime.set_content(message.text)
    mime.add_alternative(message.html, subtype="html")
    return mime


class OutboxMail:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _name(self, message: Any) -> str:
        return _SAFE.sub("_", message.message_id)[:200] + ".eml"

    def send(self, message: Any) -> str:
        """Write the message once; a second send of the same Message-ID changes nothing."""
        if "@" not in (message.to or ""):
            raise PermanentMailError(f"invalid recipient address {message.to!r}")
        name = self._name(message)
        final = self.folder / name
        if final.exists():
            return name
        data = to_mime(message).as_bytes()
        try:
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                try:
                    os.link(tmp, final)
                except FileExistsError:
                    pass  # a concurrent send of the same message won: one file
            finally:
                os.unlink(tmp)
        except OSError as exc:
            if isinstance(exc, FileExistsError):
                return name
            raise TransientMailError(f"outbox folder not writable: {exc.strerror}") from exc
        return name

    def ready(self) -> tuple[bool, str]:
        return (True, "") if os.access(self.folder, os.W_OK) else (False, f"{self.folder} is not writable")

    def messages(self) -> list[Path]:
        """The .eml files written so far (for operators and tests)."""
        return sorted(self.folder.glob("*.eml"))
