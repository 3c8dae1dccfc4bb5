"""What the staff pages' browser tests need set up through the API (as another counter or
a couple would do it)."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta
from typing import Any

from PIL import Image

from tests.browser.conftest import Api
from tests.conftest import DEFAULT_NOW
from tests.factories import couple_parties

TODAY = "2026-09-10"  # the suite's fixed time: 10:00 in Guangzhou, a Thursday


def today_slot(api: Api, office_code: str = "GZ-TIANHE", service: str = "marriage_registration") -> int:
    office_id = api.office_id(office_code)
    slots = api.request("GET", f"/api/v1/offices/{office_id}/slots", headers=api.clerk(office_code.lower()),
                        params={"from": TODAY, "to": TODAY, "service": service}).json()["data"]
    # one that has not ended at the suite's time (a later one could be on the next page)
    return next(s["id"] for s in slots if s["status"] == "open" and s["booked"] < s["capacity"]
                and datetime.fromisoformat(s["ends_at"].replace("Z", "+00:00")) > DEFAULT_NOW + timedelta(minutes=30))


def walk_in(api: Api, office_code: str = "GZ-TIANHE", name: str | None = None) -> dict[str, Any]:
    """A couple booked today at the office's counter (through the API), confirmed."""
    parties = couple_parties()
    if name:
        parties[0]["name"] = name
    office_id = api.office_id(office_code)
    response = api.request("POST", f"/api/v1/offices/{office_id}/appointments",
                           headers={**api.clerk(office_code.lower()), "Idempotency-Key": uuid.uuid4().hex},
                           json={"slot_id": today_slot(api, office_code), "service": "marriage_registration",
                                 "parties": parties})
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "confirmed"
    return response.json()  # type: ignore[no-any-return]


def png(colour: str = "white", size: tuple[int, int] = (120, 80)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def application_with_documents(api: Api, office_code: str = "GZ-TIANHE", day: str = "2026-09-15",
                               name: str = "王芳") -> dict[str, Any]:
    """A couple from Sichuan applies at the office (held seat, pre-review) and uploads a scan
    for every document the policy asks."""
    couple = api.couple(f"x-{uuid.uuid4().hex[:10]}@example.com")
    office_id = api.office_id(office_code)
    slots = api.request("GET", f"/api/v1/offices/{office_id}/availability",
                        params={"service": "marriage_registration", "from": day, "to": day}).json()["data"]
    slot_id = next(s["slot_id"] for s in slots if s["remaining"] > 0)
    parties = couple_parties(region="510104", hukou="51")
    parties[1]["name"] = name
    response = api.request("POST", "/api/v1/cross-province-applications",
                           headers={**couple, "Idempotency-Key": uuid.uuid4().hex},
                           json={"slot_id": slot_id, "service": "marriage_registration", "parties": parties})
    assert response.status_code == 201, response.text
    app = response.json()
    for need in app["missing_documents"]:
        data = {"kind": need["kind"], **({"party": str(need["party"])} if need["party"] else {})}
        uploaded = api.request("POST", f"/api/v1/cross-province-applications/{app['id']}/documents",
                               headers={**couple, "Idempotency-Key": uuid.uuid4().hex}, data=data,
                               files={"file": ("scan.png", png(), "image/png")})
        assert uploaded.status_code == 201, uploaded.text
    return app  # type: ignore[no-any-return]
