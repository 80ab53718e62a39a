"""A D2P case as the browser tests and the console screenshots need one: a northwind
report at a Plymouth store with a suspect image and a short H.264 CCTV clip, sent to
devon-and-cornwall through the live stamp's API (with the token `make token` prints) and
delivered by the stamp's own queue worker, and the D2P email it wrote to the force."""

from __future__ import annotations

import email
import re
import time
from email import policy
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np

from functions.cli import demo_token
from shared.bootstrap import Container
from shared.domain.incident_report import IncidentIn
from shared.settings import Settings
from tests.evidence.video_files import make_video
from tests.live_stamp import LiveStamp

# The stamp's queue worker delivers on its own schedule: long enough for a busy shared
# machine, polled so a quick delivery is not waited out.
DELIVERY_TIMEOUT = 60.0


@cache
def _container(data_dir: Path) -> Container:
    # The live stamp's own data dir: its directory and signing key, so a token minted here
    # is the one `make token` prints for that stamp.
    return Container(Settings(data_dir=data_dir))


def api(stamp: LiveStamp, org: str, role: str) -> httpx.Client:
    """An API client for the live stamp with a `make token` bearer token of `role` at `org`."""
    token = demo_token(_container(stamp.data_dir), org, role)
    return httpx.Client(base_url=f"{stamp.url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def suspect_photo() -> bytes:
    ok, jpeg = cv2.imencode(".jpg", np.tile(np.linspace(0, 255, 96, dtype=np.uint8)[None, :, None], (72, 1, 3)))
    assert ok
    return jpeg.tobytes()


@cache
def cctv_clip() -> bytes:
    # H.264 in MP4, what store CCTV exports and what Chromium plays.
    return make_video(fmt="mp4", codec="libx264", width=160, height=120, seconds=2.0, fps=10)


def outbox(stamp: LiveStamp) -> set[Path]:
    folder = stamp.data_dir / "outbox"
    return set(folder.glob("*.eml")) if folder.exists() else set()


def dispatched(stamp: LiveStamp, *, narrative: str | None = None) -> tuple[dict[str, Any], EmailMessage]:
    """A northwind report at a Plymouth store, sent to devon-and-cornwall through the API
    and delivered by the stamp's own queue worker: the incident and the D2P email it wrote."""
    example: dict[str, Any] = IncidentIn.model_config["json_schema_extra"]["examples"][0]  # type: ignore[index,call-overload]
    body = {**example, **({"narrative": narrative} if narrative else {})}
    before = outbox(stamp)
    with api(stamp, "northwind", "Retailer.Investigator") as client:
        made = client.post("/incidents", json=body)
        assert made.status_code == 201, made.text
        incident = made.json()
        files = [("suspect_image", "suspect.jpg", "image/jpeg", suspect_photo()), ("cctv", "till-camera.mp4", "video/mp4", cctv_clip())]
        for kind, name, content_type, data in files:
            headers = {"Content-Type": content_type, "X-Filename": name, "X-Evidence-Kind": kind}
            added = client.post(f"/incidents/{incident['id']}/evidence", content=data, headers=headers)
            assert added.status_code == 201, added.text
        sent = client.post(f"/incidents/{incident['id']}/d2p")
        assert sent.status_code == 202, sent.text
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while True:
        for path in outbox(stamp) - before:
            message = email.message_from_bytes(path.read_bytes(), _class=EmailMessage, policy=policy.default)
            if incident["reference"] in str(message["Subject"]) + plain_text(message):
                return incident, message
        if time.monotonic() > deadline:
            raise AssertionError(f"no D2P email for {incident['reference']} within {DELIVERY_TIMEOUT:.0f} s:\n{stamp.log_tail()}")
        time.sleep(0.2)


def plain_text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None, "the D2P email has no plain-text part"
    return body.get_content()


def case_link(message: EmailMessage) -> str:
    """The email's link to the case page (its first)."""
    text = plain_text(message)
    links = re.findall(r"https?://[^\s<>\"]+/cases/[^\s<>\"/]+(?=[\s<>\"]|$)", text)
    assert links, f"no case link in the D2P email:\n{text}"
    return links[0]
