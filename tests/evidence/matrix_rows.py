"""Evidence rows of the authorization matrix (tests/http/test_authz_matrix.py).

Objects are northwind's: an incident shared in full with devon-and-cornwall, a video
and a photo on it. Upload sessions are made fresh for each call that consumes one
(commit, cancel), through the service, in the name of the user the matrix signs in as for
the role under test (`ctx.role`), so every admitted role of the owning side succeeds.
"""

from __future__ import annotations

from typing import Any

from shared.domain.evidence import UploadSessionIn
from shared.domain.tenancy import OrgKind, Principal, Role
from tests.evidence.conftest import MP4

NW_REPORTER = Principal(
    user_id="nw-matrix", organisation_id="northwind", organisation_kind=OrgKind.RETAILER, roles=frozenset({Role.RETAILER_INVESTIGATOR})
)
PURPOSE = {"purpose": "Authorization matrix check, op MATRIX"}


def evidence_rows(Row, Call, prefix: str) -> dict[tuple[str, str], Any]:
    RR, RI = Role.RETAILER_REPORTER.value, Role.RETAILER_INVESTIGATOR.value
    PO, PN = Role.POLICE_OFFICER.value, Role.POLICE_ANALYST.value
    readers = {RR, RI, PO, PN}

    def svc(ctx):
        return ctx.stamp.container.evidence

    def png() -> bytes:
        import cv2
        import numpy as np

        ok, out = cv2.imencode(".png", np.full((192, 256, 3), 200, dtype=np.uint8))
        return out.tobytes()

    def video(ctx) -> str:
        return ctx.once(
            "evidence-video",
            lambda: (
                svc(ctx)
                .intake.upload(
                    NW_REPORTER,
                    ctx.incident(),
                    [MP4],
                    content_type="video/mp4",
                    filename="cam.mp4",
                    kind=None,
                    content_digest=None,
                    content_length=None,
                )
                .id
            ),
        )

    def signed(ctx) -> str:
        """A northwind incident whose first statement is an MG11, signed under the declaration."""

        def create() -> str:
            body = ctx.stamp.example("IncidentIn")
            body["witnesses"] = [dict(body["witnesses"][0], mg11=True, declaration_accepted=True, occupation="Duty manager")]
            r = ctx.stamp.client.post(f"{prefix}/incidents", json=body, headers=ctx.auth("northwind", RI))
            assert r.status_code == 201, r.text
            return r.json()["id"]

        return ctx.once("mg11-incident", create)

    def photo(ctx) -> str:
        return ctx.once(
            "evidence-photo",
            lambda: (
                svc(ctx)
                .intake.upload(
                    NW_REPORTER,
                    ctx.incident(),
                    [png()],
                    content_type="image/png",
                    filename="p.png",
                    kind=None,
                    content_digest=None,
                    content_length=None,
                )
                .id
            ),
        )

    def cctv(ctx) -> str:
        """A real video, long enough for the documented still, clip and redaction examples
        (80 s at 2 fps, 320x240 with sound: the redaction example's boxes and mute fit)."""
        from tests.evidence.video_files import make_video

        return ctx.once(
            "evidence-cctv",
            lambda: (
                svc(ctx)
                .intake.upload(
                    NW_REPORTER,
                    ctx.incident(),
                    [make_video(width=320, height=240, seconds=80, fps=2, audio=True)],
                    content_type="video/x-msvideo",
                    filename="dvr.avi",
                    kind=None,
                    content_digest=None,
                    content_length=None,
                )
                .id
            ),
        )

    def opener(ctx) -> Principal:
        """A session answers only the person who opened it: the northwind user the matrix
        signs in as for the role under test, when that role may upload at all."""
        role = getattr(ctx, "role", None)
        if role not in (RR, RI):
            return NW_REPORTER
        stores = frozenset(s.id for s in ctx.stamp.container.directory.stores_of("northwind")) if role == RR else frozenset()
        user = f"northwind-{role.split('.')[-1].lower()}"
        return Principal(
            user_id=user, organisation_id="northwind", organisation_kind=OrgKind.RETAILER, roles=frozenset({Role(role)}), stores=stores
        )

    def session(ctx, complete: bool) -> str:
        who = opener(ctx)
        s = svc(ctx).uploads.start(who, staff_incident(ctx), UploadSessionIn(filename="cam.mp4", content_type="video/mp4", size=len(MP4)))
        if complete:
            svc(ctx).uploads.put_chunk(who, s.session.id, f"bytes 0-{len(MP4) - 1}/{len(MP4)}", [MP4])
        return s.session.id

    def staff_incident(ctx) -> str:
        """A northwind incident reported by the store staff member the matrix signs in as:
        staff add evidence only to their own reports (investigators to any)."""

        def create() -> str:
            body = ctx.stamp.example("IncidentIn")
            r = ctx.stamp.client.post(f"{prefix}/incidents", json=body, headers=ctx.auth("northwind", RR))
            assert r.status_code == 201, r.text
            return r.json()["id"]

        return ctx.once("evidence-staff-incident", create)

    def open_session(ctx) -> str:
        return ctx.once(f"evidence-session-{opener(ctx).user_id}", lambda: session(ctx, False))

    ev = f"{prefix}/evidence"
    return {
        ("POST", f"{prefix}/incidents/{{incident_id}}/evidence"): Row(
            allowed={RR, RI},
            ok=(201,),
            call=lambda ctx, org: Call(
                "POST",
                f"{prefix}/incidents/{staff_incident(ctx)}/evidence",
                content=MP4,
                headers={"Content-Type": "video/mp4", "X-Filename": "cam.mp4"},
            ),
        ),
        ("GET", f"{prefix}/incidents/{{incident_id}}/evidence"): Row(
            allowed=readers,
            call=lambda ctx, org: (video(ctx), Call("GET", f"{prefix}/incidents/{ctx.incident()}/evidence", params=PURPOSE))[1],
        ),
        ("POST", f"{prefix}/incidents/{{incident_id}}/evidence/uploads"): Row(
            allowed={RR, RI},
            ok=(201,),
            call=lambda ctx, org: Call(
                "POST",
                f"{prefix}/incidents/{staff_incident(ctx)}/evidence/uploads",
                json={"filename": "cam.mp4", "content_type": "video/mp4", "size": 1000},
            ),
        ),
        ("GET", f"{prefix}/evidence/uploads/{{upload_id}}"): Row(
            allowed={RR, RI}, call=lambda ctx, org: Call("GET", f"{ev}/uploads/{open_session(ctx)}")
        ),
        ("PUT", f"{prefix}/evidence/uploads/{{upload_id}}/chunks"): Row(
            allowed={RR, RI},
            call=lambda ctx, org: (
                lambda sid: Call(
                    "PUT", f"{ev}/uploads/{sid}/chunks", content=MP4[:100], headers={"Content-Range": f"bytes 0-99/{len(MP4)}"}
                )
            )(session(ctx, False)),
        ),
        ("POST", f"{prefix}/evidence/uploads/{{upload_id}}/commit"): Row(
            allowed={RR, RI},
            ok=(201,),
            call=lambda ctx, org: Call("POST", f"{ev}/uploads/{session(ctx, True)}/commit"),
        ),
        ("DELETE", f"{prefix}/evidence/uploads/{{upload_id}}"): Row(
            allowed={RR, RI},
            ok=(204,),
            call=lambda ctx, org: Call("DELETE", f"{ev}/uploads/{session(ctx, False)}"),
        ),
        ("GET", f"{prefix}/evidence/{{evidence_id}}"): Row(
            allowed=readers, call=lambda ctx, org: Call("GET", f"{ev}/{video(ctx)}", params=PURPOSE)
        ),
        ("GET", f"{prefix}/evidence/{{evidence_id}}/content"): Row(
            allowed=readers, call=lambda ctx, org: Call("GET", f"{ev}/{video(ctx)}/content", params=PURPOSE)
        ),
        ("GET", f"{prefix}/evidence/{{evidence_id}}/custody"): Row(
            allowed=readers, call=lambda ctx, org: Call("GET", f"{ev}/{video(ctx)}/custody", params=PURPOSE)
        ),
        ("POST", f"{prefix}/evidence/{{evidence_id}}/verify"): Row(
            allowed=readers, call=lambda ctx, org: Call("POST", f"{ev}/{video(ctx)}/verify", params=PURPOSE)
        ),
        ("POST", f"{prefix}/evidence/{{evidence_id}}/redactions"): Row(
            allowed={RR, RI},
            ok=(201,),
            call=lambda ctx, org: Call(
                "POST",
                f"{ev}/{photo(ctx)}/redactions",
                json={"method": "blur", "regions": [{"x": 0, "y": 0, "width": 8, "height": 8}], "reason": "Bystander"},
            ),
        ),
        ("POST", f"{prefix}/evidence/{{evidence_id}}/stills"): Row(
            allowed={RR, RI},
            ok=(201,),
            call=lambda ctx, org: Call("POST", f"{ev}/{cctv(ctx)}/stills", json={"at_seconds": 12.4, "reason": "Suspect's face"}),
        ),
        ("POST", f"{prefix}/evidence/{{evidence_id}}/clips"): Row(
            allowed={RR, RI},
            ok=(201,),
            call=lambda ctx, org: Call(
                "POST", f"{ev}/{cctv(ctx)}/clips", json={"start_seconds": 30, "end_seconds": 40, "reason": "The theft at the till"}
            ),
        ),
        ("POST", f"{prefix}/evidence/{{evidence_id}}/video-redactions"): Row(
            allowed={RR, RI},
            ok=(201,),
            call=lambda ctx, org: Call(
                "POST",
                f"{ev}/{cctv(ctx)}/video-redactions",
                json={
                    "regions": [
                        {
                            "style": "blur",
                            "keys": [{"t": 30, "x": 8, "y": 8, "w": 16, "h": 16}, {"t": 40, "x": 24, "y": 8, "w": 16, "h": 16}],
                        }
                    ],
                    "reason": "Bystander's face",
                },
            ),
        ),
        ("POST", f"{prefix}/evidence/{{evidence_id}}/video-face-proposals"): Row(
            allowed=readers, call=lambda ctx, org: Call("POST", f"{ev}/{cctv(ctx)}/video-face-proposals", params=PURPOSE)
        ),
        ("GET", f"{prefix}/evidence/{{evidence_id}}/face-proposals"): Row(
            allowed=readers, call=lambda ctx, org: Call("GET", f"{ev}/{photo(ctx)}/face-proposals", params=PURPOSE)
        ),
        ("GET", f"{prefix}/incidents/{{incident_id}}/statements/{{number}}/mg11"): Row(
            allowed=readers,
            call=lambda ctx, org: Call("GET", f"{prefix}/incidents/{signed(ctx)}/statements/1/mg11", params=PURPOSE),
        ),
        ("GET", f"{prefix}/incidents/{{incident_id}}/impact-statement"): Row(
            allowed=readers, call=lambda ctx, org: Call("GET", f"{prefix}/incidents/{ctx.incident()}/impact-statement", params=PURPOSE)
        ),
        ("GET", f"{prefix}/incidents/{{incident_id}}/package"): Row(
            allowed=readers,
            call=lambda ctx, org: (video(ctx), Call("GET", f"{prefix}/incidents/{ctx.incident()}/package", params=PURPOSE))[1],
        ),
    }
