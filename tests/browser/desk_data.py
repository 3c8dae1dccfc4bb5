"""What the staff pages' browser tests need set up through the API (as another counter or
a couple would do it)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from tests.browser.conftest import Api
from tests.conftest import DEFAULT_NOW
from tests.helpers import couple_parties

TODAY = "2026-09-10"  # the suite's fixed time: 10:00 in Guangzhou, a Thursday


def today_slot(api: Api, office_code: str = "GZ-TIANHE", service: str = "marriage_registration") -> int:
    office_id = api.office_id(office_code)
    slots = api.request("GET", f"/api/v1/offices/{office_id}/slots", headers=api.clerk(office_code.lower()),
                        params={"from": TODAY, "to": TODAY, "service": service}).json()["data"]
    # one that has not ended at the suite's time (a later one could be on the next page)
    return next(s["id"] for s in slots if s["status"] == "open" and s["booked"] < s["capacity"]
                and datetime.fromisoformat(s["ends_at"].replace("Z", "+00:00")) > DEFAULT_NOW + timedelta(minutes=30))


def walk_in(api: Api, office_code: str = "GZ-TIANHE", **party: Any) -> dict[str, Any]:
    """A couple booked today at the office's counter (through the API), confirmed."""
    office_id = api.office_id(office_code)
    response = api.request("POST", f"/api/v1/offices/{office_id}/appointments",
                           headers={**api.clerk(office_code.lower()), "Idempotency-Key": uuid.uuid4().hex},
                           json={"slot_id": today_slot(api, office_code), "service": "marriage_registration",
                                 "parties": couple_parties(**party)})
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "confirmed"
    return response.json()  # type: ignore[no-any-return]
