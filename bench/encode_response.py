"""What it costs to build and encode one appointment answer, three ways, through Litestar's
encoder (the serializer a ``Response`` uses, with the pydantic plugin's type encoders):

- ``dict``: a hand-built dict with ISO strings (what the booking path answered before issue 13);
- ``pydantic``: an ``Output`` model (validated construction), encoded through ``model_dump``;
- ``struct``: the ``msgspec.Struct`` the handlers return since issue 13 (``AppointmentOut``).

CPU time per answer (process time, best of several rounds); the machine's load matters
little. Run by hand:

    .venv/bin/python bench/encode_response.py [--n 20000]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import msgspec  # noqa: E402
from litestar.plugins.pydantic import PydanticInitPlugin  # noqa: E402
from litestar.serialization import encode_json, get_serializer  # noqa: E402
from pydantic import AwareDatetime, BaseModel, ConfigDict  # noqa: E402

from booking.schemas import iso  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
SERIALIZER = get_serializer(PydanticInitPlugin.encoders())


class _Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PartyModel(_Output):
    position: int
    name: str
    id_type: str
    id_number: str
    phone: str
    hukou_province: str | None = None


class LinksModel(_Output):
    self: str
    invite: str
    qr: str
    application: str | None = None


class AppointmentModel(_Output):
    """The pydantic ``AppointmentOut`` as it was before issue 13."""
    id: uuid.UUID
    code: str
    status: Literal["pending_review", "confirmed", "cancelled"]
    office_id: int
    service: str
    slot_id: int
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    cancel_deadline: AwareDatetime
    channel: str
    sequence: int
    review_reason: str | None = None
    status_reason: str | None = None
    parties: list[PartyModel]
    created_at: datetime
    links: LinksModel


def _facts() -> dict[str, Any]:
    starts = datetime(2027, 5, 20, 1, 30, tzinfo=UTC)
    return {
        "id": uuid.uuid4(), "code": "K7P2QX9M", "status": "confirmed", "office_id": 3, "service": "marriage",
        "slot_id": 12345, "starts_at": starts, "ends_at": starts + timedelta(minutes=15),
        "cancel_deadline": starts - timedelta(hours=24), "channel": "online", "sequence": 0,
        "created_at": datetime(2027, 5, 1, 2, 0, 0, 123456, tzinfo=UTC),
        "parties": [{"position": i, "name": "张三", "id_type": "resident_id", "id_number": "1101**********123X",
                     "phone": "138****5678", "hukou_province": "11"} for i in (1, 2)],
    }


def as_dict(f: dict[str, Any]) -> bytes:
    base = f"/api/v1/appointments/{f['id']}"
    body = {
        "id": str(f["id"]), "code": f["code"], "status": f["status"], "office_id": f["office_id"],
        "service": f["service"], "slot_id": f["slot_id"], "starts_at": iso(f["starts_at"], SH),
        "ends_at": iso(f["ends_at"], SH), "cancel_deadline": iso(f["cancel_deadline"], SH),
        "channel": f["channel"], "sequence": f["sequence"], "review_reason": None, "status_reason": None,
        "parties": [dict(p) for p in f["parties"]], "created_at": iso(f["created_at"]),
        "links": {"self": base, "invite": f"{base}/invite.ics", "qr": f"{base}/qr.svg"},
    }
    return encode_json(body, SERIALIZER)


def as_pydantic(f: dict[str, Any]) -> bytes:
    base = f"/api/v1/appointments/{f['id']}"
    model = AppointmentModel(
        id=f["id"], code=f["code"], status=f["status"], office_id=f["office_id"], service=f["service"],
        slot_id=f["slot_id"], starts_at=f["starts_at"].astimezone(SH), ends_at=f["ends_at"].astimezone(SH),
        cancel_deadline=f["cancel_deadline"].astimezone(SH), channel=f["channel"], sequence=f["sequence"],
        parties=[PartyModel(**p) for p in f["parties"]], created_at=f["created_at"],
        links=LinksModel(self=base, invite=f"{base}/invite.ics", qr=f"{base}/qr.svg"))
    return encode_json(model, SERIALIZER)


def as_struct(f: dict[str, Any]) -> bytes:
    from booking.appointments.schemas import AppointmentLinks, AppointmentOut
    from booking.parties.schemas import PartyOut
    base = f"/api/v1/appointments/{f['id']}"
    out = AppointmentOut(
        id=f["id"], code=f["code"], status=f["status"], office_id=f["office_id"], service=f["service"],
        slot_id=f["slot_id"], starts_at=f["starts_at"].astimezone(SH), ends_at=f["ends_at"].astimezone(SH),
        cancel_deadline=f["cancel_deadline"].astimezone(SH), channel=f["channel"], sequence=f["sequence"],
        parties=[PartyOut(**p) for p in f["parties"]], created_at=f["created_at"],
        links=AppointmentLinks(self=base, invite=f"{base}/invite.ics", qr=f"{base}/qr.svg"))
    return encode_json(out, SERIALIZER)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    facts = _facts()
    variants = {"dict": as_dict, "pydantic": as_pydantic, "struct": as_struct}
    answers = {name: msgspec.json.decode(fn(facts)) for name, fn in variants.items()}
    for name, answer in answers.items():  # pydantic writes the absent link as null
        answer["links"] = {k: v for k, v in answer["links"].items() if v is not None}
        assert answer == answers["dict"], (name, answer, answers["dict"])
    for name, fn in variants.items():
        best = float("inf")
        for _ in range(args.rounds):
            started = time.process_time()
            for _ in range(args.n):
                fn(facts)
            best = min(best, time.process_time() - started)
        print(f"{name:9} {best / args.n * 1e6:6.1f} µs per answer (build + encode)")


if __name__ == "__main__":
    main()
