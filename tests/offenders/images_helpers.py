"""A redacted suspect image on a northwind incident, through the evidence routes."""

from __future__ import annotations

API = "/api/v1"


def png() -> bytes:
    import cv2
    import numpy as np

    ok, out = cv2.imencode(".png", np.full((96, 128, 3), 180, dtype=np.uint8))
    assert ok
    return out.tobytes()


def upload_image(client, headers: dict[str, str], incident_id: str) -> dict:
    h = {**headers, "Content-Type": "image/png", "X-Filename": "door-camera-still.png", "X-Evidence-Kind": "suspect_image"}
    r = client.post(f"{API}/incidents/{incident_id}/evidence", content=png(), headers=h)
    assert r.status_code == 201, r.text
    return r.json()


def redacted_image(client, headers: dict[str, str], incident_id: str) -> tuple[dict, dict]:
    """The original and its redacted copy (a bystander's face obscured)."""
    original = upload_image(client, headers, incident_id)
    body = {"method": "blur", "regions": [{"x": 5, "y": 5, "width": 20, "height": 20}], "reason": "Bystander's face"}
    r = client.post(f"{API}/evidence/{original['id']}/redactions", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return original, r.json()
