"""Cross-province applications through the HTTP API on PostgreSQL: the held seat, the
documents, the clerk's queue and decisions, expiry, and the notifications they write."""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
import json
import threading
import uuid
from email.message import EmailMessage
from typing import Any

import httpx
import msgspec
import pikepdf
import pytest
import vobject
from cryptography.exceptions import InvalidTag
from PIL import Image, PngImagePlugin
from sqlalchemy import event

from booking.applications.documents import DocumentStore
from booking.applications.schemas import ApplicationOut
from booking.applications.services import expire_holds
from booking.clock import FixedClock
from booking.notifications.channels import Channels, OutgoingMail, SmsMessage, SmsRateLimiter
from booking.notifications.delivery import sweep
from tests.factories import Actor, Office, couple_parties, make_actor, open_office
from tests.helpers import calendar_part

pytestmark = pytest.mark.asyncio
MAX_UPLOAD = 200_000
APPS = "/api/v1/cross-province-applications"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"upload_max_bytes": MAX_UPLOAD}


# --- set-up ----------------------------------------------------------------------------------


async def slot(client: httpx.AsyncClient, office: Office, day: str = "2026-09-15", index: int = 0) -> dict:
    return (await client.get(f"/api/v1/offices/{office.id}/slots?from={day}&to={day}",
                             headers=office.clerk.headers)).json()["data"][index]


async def booked(client: httpx.AsyncClient, office: Office, slot_id: int) -> tuple[int, int]:
    found = (await client.get(f"/api/v1/offices/{office.id}/slots?from=2026-09-14&to=2026-09-30",
                              headers=office.clerk.headers)).json()["data"]
    s = next(s for s in found if s["id"] == slot_id)
    return s["booked"], s["capacity"]


def nonlocal_couple() -> list[dict[str, Any]]:
    return couple_parties(region="510104", hukou="51")  # both from Sichuan, applying in Guangdong


def application(slot_id: int, parties: list[dict] | None = None, **answers: Any) -> dict[str, Any]:
    return {"slot_id": slot_id, "service": "marriage_registration", "parties": parties or nonlocal_couple(),
            "answers": answers}


async def apply(client: httpx.AsyncClient, couple: Actor, slot_id: int, **kw: Any) -> dict[str, Any]:
    response = await client.post(APPS, json=application(slot_id, **kw), headers=couple.headers)
    assert response.status_code == 201, response.text
    return response.json()


def png_with_metadata() -> bytes:
    img = Image.new("RGB", (40, 30), "white")
    exif = Image.Exif()
    exif[0x013B] = "Zhang Wei"  # Artist
    exif.get_ifd(0x8825)[2] = (23.0, 7.0, 48.0)  # GPS latitude
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Zhang Wei")
    out = io.BytesIO()
    img.save(out, "PNG", exif=exif, pnginfo=info)
    return out.getvalue()


def jpeg_with_metadata() -> bytes:
    img = Image.new("RGB", (40, 30), "white")
    exif = Image.Exif()
    exif[0x013B] = "Zhang Wei"
    exif[0x0112] = 6  # rotate 90° on display
    exif.get_ifd(0x8825)[2] = (23.0, 7.0, 48.0)
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif, comment=b"Zhang Wei's phone")
    return out.getvalue()


def pdf_with_metadata() -> bytes:
    """A one-page PDF whose metadata and active content name its owner."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.docinfo["/Author"] = "Zhang Wei"
    pdf.docinfo["/Title"] = "Zhang Wei's ID card"
    with pdf.open_metadata() as meta:
        meta["dc:creator"] = ["Zhang Wei"]
    pdf.Root.OpenAction = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript,
                                                               JS=pikepdf.String("app.alert('Zhang Wei')")))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


PDF = pdf_with_metadata()


async def upload(client: httpx.AsyncClient, actor: Actor, app_id: str, kind: str, party: int | None,
                 content: bytes, name: str = "scan.pdf", content_type: str = "application/pdf") -> httpx.Response:
    data = {"kind": kind}
    if party is not None:
        data["party"] = str(party)
    return await client.post(f"{APPS}/{app_id}/documents", data=data, files={"file": (name, content, content_type)},
                             headers={**actor.headers, "Accept-Language": "en"})


async def outbox(runtime, kind: str | None = None) -> list[Any]:
    async with runtime.db.raw() as conn:
        rows = await conn.fetch("SELECT kind, channel, subject_type, subject_id, state, due_at FROM notification "
                                "ORDER BY created_at, kind, channel")
    return [r for r in rows if kind is None or r["kind"] == kind]


async def audit(runtime, action: str) -> list[Any]:
    async with runtime.db.raw() as conn:
        rows = await conn.fetch("SELECT actor_role, outcome, detail FROM audit_entry WHERE action = $1 ORDER BY id",
                                action)
    return [{**r, "detail": json.loads(r["detail"])} for r in rows]


class CaptureMailer:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def send(self, mail: OutgoingMail) -> None:  # kept as its recipient's client reads it
        self.messages.append(email.message_from_bytes(mail.data, policy=email.policy.default))  # type: ignore[arg-type]


class CaptureSms:
    def __init__(self) -> None:
        self.texts: list[str] = []

    async def send(self, phone: str, message: SmsMessage, dedupe_key: str) -> None:
        self.texts.append(message.text)


def capture(runtime) -> tuple[CaptureMailer, CaptureSms]:
    mailer, sms = CaptureMailer(), CaptureSms()
    runtime.channels = Channels(mailer=mailer, sms=sms, sms_limiter=SmsRateLimiter(100))
    return mailer, sms


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


# --- the whole flow ------------------------------------------------------------------------------


async def test_submit_upload_more_info_and_approve(client, runtime, admin, couple):
    office = await open_office(client, runtime, admin)
    s = await slot(client, office)
    mailer, sms = capture(runtime)

    app = await apply(client, couple, s["id"], note="我们在广州工作")
    assert msgspec.convert(app, ApplicationOut).status == "submitted"  # the documented schema holds
    assert app["appointment"]["status"] == "pending_review" and app["route"] == "nonlocal"
    assert app["policy_period_id"] == 3
    assert app["hold_expires_at"] == "2026-09-13T10:00:00+08:00"  # now + the office's 72 hours
    assert [d["kind"] for d in app["required_documents"]] == ["id_card", "no_spouse_declaration"]
    assert len(app["missing_documents"]) == 4 and app["answers"] == {"note": "我们在广州工作"}
    assert app["appointment"]["links"]["application"] == app["links"]["self"]
    assert await booked(client, office, s["id"]) == (1, 5)  # the seat is held like a booking
    assert {(r["kind"], r["channel"]) for r in await outbox(runtime)} == {
        ("application.received", "email"), ("application.received", "sms")}

    # the receipt: what to upload, the hold, and a tentative invite
    await sweep(runtime)
    receipt = mailer.messages[-1]
    assert "身份证" in text_of(receipt) and "2026年9月13日" in text_of(receipt)
    assert vobject.readOne(calendar_part(receipt).get_content()).vevent.status.value == "TENTATIVE"

    # documents: a PNG and a JPEG with EXIF, a PDF
    r1 = await upload(client, couple, app["id"], "id_card", 1, png_with_metadata(), "身份证 正面.png", "image/png")
    assert r1.status_code == 201, r1.text
    assert r1.json()["media_type"] == "image/png" and r1.json()["file_name"] == "身份证 正面.png"
    r2 = await upload(client, couple, app["id"], "id_card", 2, PDF, "id-2.pdf")
    r3 = await upload(client, couple, app["id"], "no_spouse_declaration", 1, jpeg_with_metadata(),
                      "declaration.jpeg", "image/jpeg")
    assert r2.status_code == 201 and r3.status_code == 201
    stored = runtime.settings.upload_dir / "documents"
    names = sorted(p.name for p in stored.iterdir())
    assert names == sorted(r.json()["id"].replace("-", "") for r in (r1, r2, r3))  # generated names only
    for path in stored.iterdir():
        sealed = path.read_bytes()
        assert not sealed.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8"))  # encrypted at rest
        raw = runtime.vault.unseal(sealed, context=f"document:{uuid.UUID(path.name)}")
        assert b"Zhang Wei" not in raw  # EXIF, comments and text chunks are gone
        if raw.startswith(b"\x89PNG") or raw.startswith(b"\xff\xd8"):
            image = Image.open(io.BytesIO(raw))
            assert dict(image.getexif()) == {}
            if image.format == "JPEG":
                assert image.size == (30, 40)  # the orientation was applied before it was dropped
    pdf_path = stored / r2.json()["id"].replace("-", "")
    cleaned = runtime.vault.unseal(pdf_path.read_bytes(), context=f"document:{r2.json()['id']}")
    assert b"Zhang Wei" in PDF and b"Zhang Wei" not in cleaned  # metadata and script are gone
    with pikepdf.open(io.BytesIO(cleaned)) as kept:
        assert len(kept.pages) == 1 and "/Metadata" not in kept.Root and "/OpenAction" not in kept.Root
    with pytest.raises(InvalidTag):  # bound to its document: not readable under another's name
        runtime.vault.unseal(pdf_path.read_bytes(), context=f"document:{r1.json()['id']}")

    # the clerk's queue has it; approving with a document missing is refused (and audited)
    queue = await client.get(f"/api/v1/offices/{office.id}/cross-province-applications", headers=office.clerk.headers)
    assert [a["id"] for a in queue.json()["data"]] == [app["id"]]
    early = await client.post(f"{APPS}/{app['id']}/decision", json={"decision": "approve"},
                              headers={**office.clerk.headers, "Accept-Language": "en"})
    assert early.status_code == 409 and early.json()["code"] == "documents-missing"
    assert early.json()["missing"] == [{"kind": "no_spouse_declaration", "party": 2}]
    assert [r["outcome"] for r in await audit(runtime, "application.decide")] == ["refused:documents-missing"]

    # ask for more information; the reason is shown as typed, the rest in the reader's language
    reason = "请补充女方签字的声明书 {reason} <b>"
    asked = await client.post(f"{APPS}/{app['id']}/decision", headers=office.clerk.headers,
                              json={"decision": "needs_more_info", "reason": reason})
    assert asked.status_code == 200 and asked.json()["status"] == "needs_more_info"
    seen = await client.get(f"{APPS}/{app['id']}", headers={**couple.headers, "Accept-Language": "en"})
    assert seen.json()["decision"]["message"] == f"The office needs more information: {reason}"
    seen_zh = await client.get(f"{APPS}/{app['id']}", headers=couple.headers)
    assert seen_zh.json()["decision"]["message"] == f"登记机关需要补充材料：{reason}"
    not_now = await client.post(f"{APPS}/{app['id']}/decision", json={"decision": "approve"},
                                headers=office.clerk.headers)
    assert not_now.status_code == 409 and not_now.json()["code"] == "application-state"
    await sweep(runtime)
    asked_mail = mailer.messages[-1]
    assert asked_mail["Subject"].startswith("需补充材料") and reason in text_of(asked_mail)
    assert "<b>" not in asked_mail.get_body(preferencelist=("html",)).get_content().replace("&lt;b&gt;", "")

    # the couple adds the document and sends it back
    r4 = await upload(client, couple, app["id"], "no_spouse_declaration", 2, PDF, "declaration-2.pdf")
    assert r4.status_code == 201
    back = await client.post(f"{APPS}/{app['id']}/resubmit", json={"note": "已补充"}, headers=couple.headers)
    assert back.status_code == 200 and back.json()["status"] == "submitted" and back.json()["missing_documents"] == []

    # the clerk reads a scan (audited); the couple reads their own
    read = await client.get(f"{APPS}/{app['id']}/documents/{r2.json()['id']}", headers=office.clerk.headers)
    assert read.status_code == 200 and read.content == cleaned
    assert read.headers["content-type"] == "application/pdf"
    assert read.headers["content-disposition"] == 'attachment; filename="id_card-2.pdf"'
    assert read.headers["x-content-type-options"] == "nosniff"
    mine = await client.get(f"{APPS}/{app['id']}/documents/{r1.json()['id']}", headers=couple.headers)
    assert mine.status_code == 200 and mine.content.startswith(b"\x89PNG")
    reads = await audit(runtime, "application.document.read")
    assert len(reads) == 1 and reads[0]["actor_role"] == "clerk"

    # approval: the held appointment is confirmed, no second seat is taken
    approved = await client.post(f"{APPS}/{app['id']}/decision", headers=office.clerk.headers,
                                 json={"decision": "approve", "reason": "材料齐全"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["appointment"]["status"] == "confirmed"
    assert approved.json()["appointment"]["sequence"] == 1
    assert await booked(client, office, s["id"]) == (1, 5)
    appointment = await client.get(f"/api/v1/appointments/{app['appointment_id']}", headers=couple.headers)
    assert appointment.json()["status"] == "confirmed"
    assert {(r["kind"], r["channel"]) for r in await outbox(runtime, "application.approved")} == {
        ("application.approved", "email"), ("application.approved", "sms")}
    # like any confirmed appointment: its reminders are derived when due (e-mail and SMS the
    # day before, SMS two hours before)
    from tests.helpers import derive_reminders, remind_at

    moment = await remind_at(runtime, app["appointment_id"])
    assert moment is not None
    assert await derive_reminders(runtime, moment) == 1
    assert len(await outbox(runtime, "appointment.reminder")) == 2
    assert [(r["detail"]["decision"], r["outcome"]) for r in await audit(runtime, "application.decide")] == [
        ("approve", "refused:documents-missing"), ("needs_more_info", "ok"),
        ("approve", "refused:application-state"), ("approve", "ok")]

    # the approval mail carries the invite like a confirmation: REQUEST, CONFIRMED, SEQUENCE 1
    await sweep(runtime)
    confirmation = mailer.messages[-1]
    assert "材料齐全" in text_of(confirmation) and "已确认" in confirmation["Subject"]
    part = calendar_part(confirmation)
    assert part.get_param("method") == "REQUEST"
    event = vobject.readOne(part.get_content()).vevent
    assert event.status.value == "CONFIRMED" and event.sequence.value == "1"
    assert event.uid.value.startswith(f"appointment-{app['appointment_id']}@")  # the receipt's UID, updated
    assert any(t.startswith("【婚姻登记】申请审核通过") for t in sms.texts)

    # a decided application takes no more documents or decisions
    late = await upload(client, couple, app["id"], "other", None, PDF)
    assert late.status_code == 409
    assert (await client.post(f"{APPS}/{app['id']}/decision", json={"decision": "reject", "reason": "x"},
                              headers=office.clerk.headers)).status_code == 409


async def test_reject_withdraw_and_cancel_return_the_seat(client, runtime, admin, couple):
    office = await open_office(client, runtime, admin)
    s = await slot(client, office)
    parties = nonlocal_couple()
    app = await apply(client, couple, s["id"], parties=parties)
    assert await booked(client, office, s["id"]) == (1, 5)
    no_reason = await client.post(f"{APPS}/{app['id']}/decision", json={"decision": "reject"},
                                  headers={**office.clerk.headers, "Accept-Language": "en"})
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    rejected = await client.post(f"{APPS}/{app['id']}/decision", headers=office.clerk.headers,
                                 json={"decision": "reject", "reason": "居住证不在本市"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert rejected.json()["appointment"]["status"] == "cancelled"
    assert await booked(client, office, s["id"]) == (0, 5)  # the seat returns at once
    assert len(await outbox(runtime, "application.rejected")) == 2
    mailer, _sms = capture(runtime)
    await sweep(runtime)
    rejection = next(m for m in mailer.messages if "居住证不在本市" in text_of(m))
    assert calendar_part(rejection).get_param("method") == "CANCEL"

    # the parties are free again: the same couple applies anew, then withdraws
    again = await apply(client, couple, s["id"], parties=parties)
    assert await booked(client, office, s["id"]) == (1, 5)
    stranger = await make_actor(runtime, "couple")
    assert (await client.post(f"{APPS}/{again['id']}/withdraw", headers=stranger.headers)).status_code == 404
    withdrawn = await client.post(f"{APPS}/{again['id']}/withdraw", headers=couple.headers)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert await booked(client, office, s["id"]) == (0, 5)
    assert {r["kind"] for r in await outbox(runtime) if r["subject_id"].hex == again["appointment_id"].replace("-", "")} \
        == {"appointment.cancelled"}
    assert (await client.post(f"{APPS}/{again['id']}/withdraw", headers=couple.headers)).status_code == 409

    # cancelling the held appointment itself closes its application
    third = await apply(client, couple, s["id"], parties=parties)
    cancelled = await client.post(f"/api/v1/appointments/{third['appointment_id']}/cancel", headers=couple.headers)
    assert cancelled.status_code == 200
    assert (await client.get(f"{APPS}/{third['id']}", headers=couple.headers)).json()["status"] == "withdrawn"
    fourth = await apply(client, couple, s["id"], parties=parties)
    await client.post(f"/api/v1/appointments/{fourth['appointment_id']}/cancel", headers=office.clerk.headers)
    assert (await client.get(f"{APPS}/{fourth['id']}", headers=couple.headers)).json()["status"] == "rejected"
    assert await booked(client, office, s["id"]) == (0, 5)


async def test_an_expired_hold_returns_its_seat(client, runtime, admin, couple, clock: FixedClock):
    office = await open_office(client, runtime, admin)
    s = await slot(client, office)
    first = await apply(client, couple, s["id"])
    other = await make_actor(runtime, "couple")
    second = await apply(client, other, s["id"])
    assert await booked(client, office, s["id"]) == (2, 5)
    assert await expire_holds(runtime) == 0  # nothing is due yet

    clock.advance(hours=72)  # the hold ends now; the sweep has not run yet
    over = await client.post(f"{APPS}/{first['id']}/decision", json={"decision": "approve"},
                             headers=office.clerk.headers)
    assert over.status_code == 409 and over.json()["code"] == "hold-expired"
    # two sweeps at once (two workers): each application expires once
    results = await asyncio.gather(expire_holds(runtime), expire_holds(runtime))
    assert sum(results) == 2
    assert await expire_holds(runtime) == 0  # and a later run finds nothing left
    assert await booked(client, office, s["id"]) == (0, 5)
    for app, actor in ((first, couple), (second, other)):
        seen = (await client.get(f"{APPS}/{app['id']}", headers=actor.headers)).json()
        assert seen["status"] == "expired" and seen["appointment"]["status"] == "cancelled"
    assert len(await outbox(runtime, "application.expired")) == 4
    assert len(await audit(runtime, "application.expire")) == 2
    late = await client.post(f"{APPS}/{first['id']}/decision", json={"decision": "reject", "reason": "x"},
                             headers=office.clerk.headers)
    assert late.status_code == 409 and late.json()["code"] == "application-state"
    assert late.json()["status"] == 409 and late.json()["application_status"] == "expired"
    # the expiry job runs with the other periodic jobs
    from booking.background.jobs import periodic_jobs

    assert expire_holds in periodic_jobs()


async def test_the_expiry_sweep_works_in_batches(client, runtime, admin, clock: FixedClock):
    """Five holds on two slots expire in a handful of statements, not a few per hold; the
    seats, parties and notifications come out as one by one."""
    office = await open_office(client, runtime, admin)
    first, second = await slot(client, office), await slot(client, office, index=1)
    couples = [await make_actor(runtime, "couple") for _ in range(6)]
    parties = [nonlocal_couple() for _ in couples]
    for couple, these, s in zip(couples, parties, [first, first, first, second, second], strict=False):
        await apply(client, couple, s["id"], parties=these)
    clock.advance(hours=24)
    later = await apply(client, couples[5], second["id"], parties=parties[5])  # its hold runs 24 hours more
    assert await booked(client, office, first["id"]) == (3, 5) and await booked(client, office, second["id"]) == (3, 5)

    clock.advance(hours=48)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement[:70])

    event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        assert await expire_holds(runtime) == 5
    finally:
        event.remove(runtime.db.engine.sync_engine, "before_cursor_execute", count)
    # 12 for the lifecycle's batch, 2 for the ballots' seat listener (a won entry's end, and
    # whether a freed seat lies on a drawn ballot's day): per batch, not per hold
    assert len(statements) <= 14, "\n".join(statements)
    assert await booked(client, office, first["id"]) == (0, 5) and await booked(client, office, second["id"]) == (1, 5)
    assert len(await outbox(runtime, "application.expired")) == 10
    assert len(await audit(runtime, "application.expire")) == 5
    assert (await client.get(f"{APPS}/{later['id']}", headers=couples[5].headers)).json()["status"] == "submitted"
    # the parties are free again: the first couple applies anew
    assert (await client.post(APPS, json=application(first["id"], parties[0]), headers=couples[0].headers)
            ).status_code == 201


async def test_approval_after_the_office_lowered_capacity(client, runtime, admin, couple):
    """The held seat is already counted in ``booked``, and capacity can never go below
    ``booked``: so the office cannot squeeze out a held seat, and approval needs none."""
    office = await open_office(client, runtime, admin, capacity=3)
    s = await slot(client, office)
    app = await apply(client, couple, s["id"])
    local = await make_actor(runtime, "couple")
    response = await client.post("/api/v1/appointments", headers=local.headers,
                                 json={"slot_id": s["id"], "service": "marriage_registration",
                                       "parties": couple_parties()})
    assert response.status_code == 201 and response.json()["status"] == "confirmed"
    assert await booked(client, office, s["id"]) == (2, 3)

    below = await client.patch(f"/api/v1/slots/{s['id']}", json={"capacity": 1}, headers=office.clerk.headers)
    assert below.status_code == 409 and below.json()["code"] == "capacity-below-booked"
    lowered = await client.patch(f"/api/v1/slots/{s['id']}", json={"capacity": 2}, headers=office.clerk.headers)
    assert lowered.status_code == 200 and lowered.json()["capacity"] == 2
    for kind, party in (("id_card", 1), ("id_card", 2), ("no_spouse_declaration", 1), ("no_spouse_declaration", 2)):
        assert (await upload(client, couple, app["id"], kind, party, PDF)).status_code == 201
    approved = await client.post(f"{APPS}/{app['id']}/decision", json={"decision": "approve"},
                                 headers=office.clerk.headers)
    assert approved.status_code == 200 and approved.json()["appointment"]["status"] == "confirmed"
    assert await booked(client, office, s["id"]) == (2, 2)  # full, never over
    async with runtime.db.raw() as conn:
        confirmed = await conn.fetchval("SELECT count(*) FROM appointment WHERE slot_id = $1 AND status = 'confirmed'",
                                        s["id"])
    assert confirmed == 2
    third = await make_actor(runtime, "couple")
    full = await client.post(APPS, json=application(s["id"]), headers=third.headers)
    assert full.status_code == 409 and full.json()["code"] == "slot-full"


# --- uploads refused, and strangers see nothing ---------------------------------------------------


async def test_uploads_refused_and_other_offices_see_nothing(client, runtime, admin, couple):
    office = await open_office(client, runtime, admin)
    app = await apply(client, couple, (await slot(client, office))["id"])
    cases = [
        ("renamed executable", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, "scan.pdf", "application/pdf",
         415, "unsupported-document-type"),
        ("ELF binary as an image", b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "photo.jpg", "image/jpeg",
         415, "unsupported-document-type"),
        ("oversized", PDF + b"0" * MAX_UPLOAD, "big.pdf", "application/pdf", 413, "document-too-large"),
        ("parent directory", PDF, "../../etc/passwd.pdf", "application/pdf", 422, "invalid-input"),
        ("absolute path", PDF, "/var/lib/scan.pdf", "application/pdf", 422, "invalid-input"),
        # (a drive path "C:\\..." reaches no handler whole: the multipart parser keeps its last part)
        ("windows path", PDF, "..\\..\\boot.ini.pdf", "application/pdf", 422, "invalid-input"),
        ("hidden file", PDF, ".htaccess", "application/pdf", 422, "invalid-input"),
        ("GIF", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "scan.png", "image/png", 415, "unsupported-document-type"),
        ("Word document", b"PK\x03\x04" + b"\x00" * 60, "scan.docx", "application/pdf", 415,
         "unsupported-document-type"),
        ("PNG magic, broken image", b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "scan.png", "image/png", 422,
         "invalid-input"),
        ("empty", b"", "scan.pdf", "application/pdf", 422, "invalid-input"),
        ("PDF magic, not a PDF", b"%PDF-1.7\n" + b"garbage " * 50, "scan.pdf", "application/pdf", 422,
         "invalid-input"),
    ]
    for case, content, name, content_type, status, code in cases:
        response = await upload(client, couple, app["id"], "id_card", 1, content, name, content_type)
        assert (case, response.status_code, response.json().get("code")) == (case, status, code), response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    beyond = await upload(client, couple, app["id"], "id_card", 1, PDF + b"0" * (MAX_UPLOAD + 2 * 1024 * 1024))
    assert beyond.status_code == 413  # refused by the server before the handler reads it
    no_party = await upload(client, couple, app["id"], "id_card", None, PDF)
    assert no_party.status_code == 422 and no_party.json()["errors"][0]["field"] == "party"
    bad_kind = await upload(client, couple, app["id"], "selfie", 1, PDF)
    assert bad_kind.status_code == 422 and bad_kind.json()["errors"][0]["field"] == "kind"
    stored = runtime.settings.upload_dir / "documents"
    assert not stored.exists() or list(stored.iterdir()) == []
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM application_document") == 0

    doc = await upload(client, couple, app["id"], "id_card", 1, PDF)
    assert doc.status_code == 201
    other_office = await open_office(client, runtime, admin, code="OTHER")
    stranger = await make_actor(runtime, "couple")
    content = f"{APPS}/{app['id']}/documents/{doc.json()['id']}"
    for actor in (other_office.clerk, stranger):
        assert (await client.get(f"{APPS}/{app['id']}", headers=actor.headers)).status_code == 404
        assert (await client.get(content, headers=actor.headers)).status_code == 404
        assert (await upload(client, actor, app["id"], "other", None, PDF)).status_code == 404
    assert (await client.post(f"{APPS}/{app['id']}/decision", json={"decision": "approve"},
                              headers=other_office.clerk.headers)).status_code == 404
    assert (await client.get(f"/api/v1/offices/{office.id}/cross-province-applications",
                             headers=other_office.clerk.headers)).status_code == 404
    queue = await client.get(f"/api/v1/offices/{other_office.id}/cross-province-applications",
                             headers=other_office.clerk.headers)
    assert queue.json()["data"] == []
    # a document of another application is not reachable through this one
    second = await apply(client, stranger, (await slot(client, office, index=1))["id"])
    assert (await client.get(f"{APPS}/{second['id']}/documents/{doc.json()['id']}",
                             headers=office.clerk.headers)).status_code == 404
    assert await audit(runtime, "application.document.read") == []


async def test_an_upload_holds_no_transaction_while_it_cleans_and_writes(client, runtime, admin, couple,
                                                                          monkeypatch):
    """The scan is decoded and written with no transaction open and no row locked: a clerk
    decides meanwhile without waiting. The upload then finds the application decided,
    refuses, and deletes the file it wrote."""
    office = await open_office(client, runtime, admin)
    app = await apply(client, couple, (await slot(client, office))["id"])
    writing, proceed = threading.Event(), threading.Event()
    write = DocumentStore.write

    def slow_write(self: DocumentStore, document_id: uuid.UUID, data: bytes) -> None:
        writing.set()
        proceed.wait(timeout=30)
        write(self, document_id, data)

    monkeypatch.setattr(DocumentStore, "write", slow_write)
    pending = asyncio.create_task(upload(client, couple, app["id"], "id_card", 1, jpeg_with_metadata(),
                                         "id.jpg", "image/jpeg"))
    while not writing.is_set():
        await asyncio.sleep(0.01)
    try:
        async with runtime.db.raw() as conn:
            assert await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                       "AND state LIKE 'idle in transaction%'") == 0
            async with conn.transaction():  # the application row is free
                await conn.execute("SELECT 1 FROM cross_province_application WHERE id = $1 FOR UPDATE NOWAIT",
                                   uuid.UUID(app["id"]))
        rejected = await asyncio.wait_for(client.post(
            f"{APPS}/{app['id']}/decision", json={"decision": "reject", "reason": "材料不符"},
            headers=office.clerk.headers), timeout=10)
        assert rejected.status_code == 200
    finally:
        proceed.set()
    late = await pending
    assert late.status_code == 409 and late.json()["code"] == "application-state"
    stored = runtime.settings.upload_dir / "documents"
    assert [p.name for p in stored.iterdir()] == []  # written, then deleted with the refusal
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM application_document") == 0


async def test_a_retried_upload_stores_one_document(client, runtime, admin, couple):
    """An Idempotency-Key on an upload: the same key and file answer once (the 30-document
    limit is not eaten by retries); the same key with another file is refused."""
    office = await open_office(client, runtime, admin)
    app = await apply(client, couple, (await slot(client, office))["id"])

    async def send(content: bytes, key: str, party: str = "1", name: str = "id.png", actor: Actor = couple
                   ) -> httpx.Response:
        return await client.post(f"{APPS}/{app['id']}/documents", data={"kind": "id_card", "party": party},
                                 files={"file": (name, content, "image/png")},
                                 headers={**actor.headers, "Idempotency-Key": key, "Accept-Language": "en"})

    scan = png_with_metadata()
    first = await send(scan, "scan-1")
    again = await send(scan, "scan-1")
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    at_once = await asyncio.gather(*(send(scan, "scan-2", party="2") for _ in range(5)))  # a flaky line
    assert [r.status_code for r in at_once] == [201] * 5 and len({r.text for r in at_once}) == 1
    for other in (await send(PDF, "scan-1", name="id.pdf"), await send(scan, "scan-1", party="2"),
                  await send(scan, "scan-1", name="renamed.png")):
        assert other.status_code == 409 and other.json()["code"] == "idempotency-key-reused"
    # keys are the caller's: the clerk's "scan-1" is another request, and audited once
    counter = [await send(PDF, "scan-1", name="id.pdf", actor=office.clerk) for _ in range(2)]
    assert [r.status_code for r in counter] == [201, 201] and counter[0].json() == counter[1].json()
    assert len(await audit(runtime, "application.document.upload")) == 1

    ids = {first.json()["id"], at_once[0].json()["id"], counter[0].json()["id"]}
    stored = runtime.settings.upload_dir / "documents"
    assert {p.name for p in stored.iterdir()} == {uuid.UUID(i).hex for i in ids}  # the retries' files are gone
    seen = (await client.get(f"{APPS}/{app['id']}", headers=couple.headers)).json()
    assert {d["id"] for d in seen["documents"]} == ids

    # decided since: a retry still gets its first answer, a new upload is refused
    assert (await client.post(f"{APPS}/{app['id']}/decision", json={"decision": "reject", "reason": "x"},
                              headers=office.clerk.headers)).status_code == 200
    assert (await send(scan, "scan-1")).json() == first.json()
    late = await send(scan, "scan-3")
    assert late.status_code == 409 and late.json()["code"] == "application-state"
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM application_document") == 3


async def test_out_of_range_input_is_refused_not_a_server_error(client, runtime, admin, couple):
    """Dates, ids, offsets and text the database cannot hold are the caller's 422, with the
    field named, and change nothing."""
    office = await open_office(client, runtime, admin)
    s = await slot(client, office)
    app = await apply(client, couple, s["id"])
    queue = f"/api/v1/offices/{office.id}/cross-province-applications"
    cases = [
        ("dates beyond the calendar", "GET", f"{queue}?from=0001-01-01&to=9999-12-31", office.clerk, None, "from"),
        ("a date far ahead", "GET", f"{queue}?to=9999-12-31", office.clerk, None, "to"),
        ("a huge offset", "GET", f"{queue}?offset=99999999999999999999999", office.clerk, None, "offset"),
        ("a huge office id", "GET", "/api/v1/offices/99999999999/cross-province-applications", admin, None,
         "office_id"),
        ("a negative office id", "GET", "/api/v1/offices/-1/cross-province-applications", admin, None, "office_id"),
        ("a huge offset of one's own", "GET", f"{APPS}?offset=9223372036854775808", couple, None, "offset"),
        ("a huge slot id", "POST", APPS, couple, application(2**31), "slot_id"),
        ("a NUL in the note", "POST", APPS, couple, application(s["id"], note="a\x00b"), "answers.note"),
        ("a NUL in the reason", "POST", f"{APPS}/{app['id']}/decision", office.clerk,
         {"decision": "reject", "reason": "材料\x00不符"}, "reason"),
        ("a very long reason", "POST", f"{APPS}/{app['id']}/decision", office.clerk,
         {"decision": "reject", "reason": "x" * 1001}, "reason"),
        ("a control character in a note", "POST", f"{APPS}/{app['id']}/resubmit", couple, {"note": "\x1b[2J"},
         "note"),
    ]
    for case, method, url, actor, body, field in cases:
        response = await client.request(method, url, json=body, headers={**actor.headers, "Accept-Language": "en"})
        assert (case, response.status_code) == (case, 422), response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in response.json()["errors"]] == [field], (case, response.text)
    widest = await client.get(f"{queue}?from=1900-01-01&to=2199-12-31&offset=2147483647", headers=office.clerk.headers)
    assert widest.status_code == 200 and widest.json()["total"] == 1
    seen = (await client.get(f"{APPS}/{app['id']}", headers=couple.headers)).json()
    assert seen["status"] == "submitted" and seen["history"] == app["history"]
    assert await booked(client, office, s["id"]) == (1, 5)


# --- both entry points converge; the queue ---------------------------------------------------------


async def test_a_booking_routed_to_review_opens_its_application(client, runtime, admin, couple, clock):
    office = await open_office(client, runtime, admin)
    s = await slot(client, office)
    booked_through_appointments = await client.post(
        "/api/v1/appointments", headers=couple.headers,
        json={"slot_id": s["id"], "service": "marriage_registration", "parties": nonlocal_couple()})
    assert booked_through_appointments.status_code == 201
    body = booked_through_appointments.json()
    assert body["status"] == "pending_review" and body["links"]["application"].startswith(APPS)
    app = (await client.get(body["links"]["application"], headers=couple.headers)).json()
    assert app["status"] == "submitted" and app["answers"] == {} and app["appointment_id"] == body["id"]
    assert app["history"][0]["by"] == "couple"
    assert (await client.get(f"/api/v1/appointments/{body['id']}", headers=couple.headers)).json()["links"][
        "application"] == body["links"]["application"]
    kinds = {r["kind"] for r in await outbox(runtime)}
    assert kinds == {"application.received"}

    # a walk-in couple at the counter: the clerk books, the application has no account,
    # the clerk uploads the scans (audited)
    clock.advance(minutes=5)
    walk_in = await client.post(f"/api/v1/offices/{office.id}/appointments", headers=office.clerk.headers,
                                json={"slot_id": s["id"], "service": "marriage_registration",
                                      "parties": nonlocal_couple()})
    assert walk_in.status_code == 201 and walk_in.json()["status"] == "pending_review"
    clock.advance(minutes=5)
    third = await apply(client, await make_actor(runtime, "couple"), s["id"])

    queue = await client.get(f"/api/v1/offices/{office.id}/cross-province-applications",
                             headers=office.clerk.headers)
    entries = queue.json()["data"]
    assert queue.json()["total"] == 3 and [e["id"] for e in entries][0] == app["id"]  # oldest first
    assert entries[-1]["id"] == third["id"]
    counter = entries[1]
    assert counter["appointment"]["channel"] == "counter" and counter["history"][0]["by"] == "office"
    scan = await upload(client, office.clerk, counter["id"], "id_card", 1, PDF)
    assert scan.status_code == 201
    assert len(await audit(runtime, "application.document.upload")) == 1

    await client.post(f"{APPS}/{third['id']}/decision", json={"decision": "needs_more_info", "reason": "x"},
                      headers=office.clerk.headers)
    asked = await client.get(f"/api/v1/offices/{office.id}/cross-province-applications?status=needs_more_info",
                             headers=office.clerk.headers)
    assert [e["id"] for e in asked.json()["data"]] == [third["id"]]
    dated = await client.get(f"/api/v1/offices/{office.id}/cross-province-applications?from=2026-09-16&to=2026-09-30",
                             headers=office.clerk.headers)
    assert dated.json()["total"] == 0
    mine = await client.get(APPS, headers=couple.headers)
    assert [a["id"] for a in mine.json()["data"]] == [app["id"]]


async def test_what_the_application_endpoint_refuses(client, runtime, admin, couple):
    office = await open_office(client, runtime, admin)
    s = await slot(client, office)
    local = await client.post(APPS, json=application(s["id"], couple_parties()),
                              headers={**couple.headers, "Accept-Language": "en"})
    assert local.status_code == 409 and local.json()["code"] == "prereview-not-required"
    assert await booked(client, office, s["id"]) == (0, 5)

    # idempotency: the same key and body answer once; another body is refused
    body = application(s["id"])
    key = {"Idempotency-Key": "apply-1", **couple.headers}
    first = await client.post(APPS, json=body, headers=key)
    replay = await client.post(APPS, json=body, headers=key)
    assert first.status_code == 201 and replay.json() == first.json()
    other = await client.post(APPS, json={**body, "answers": {"note": "changed"}}, headers=key)
    assert other.status_code == 409 and other.json()["code"] == "idempotency-key-reused"
    cross = await client.post("/api/v1/appointments", headers=key,
                              json={"slot_id": s["id"], "service": "marriage_registration",
                                    "parties": body["parties"]})
    assert cross.status_code == 409 and cross.json()["code"] == "idempotency-key-reused"
    assert await booked(client, office, s["id"]) == (1, 5)
    assert (await client.post(APPS, json=body, headers=office.clerk.headers)).status_code == 403


async def test_concurrent_retries_of_an_application_open_one(client, runtime, admin, couple):
    """The application endpoint's key is the booking write's own (claimed in the statement
    that holds the seat): ten retries at once hold one seat and open one application."""
    office = await open_office(client, runtime, admin)
    s = await slot(client, office)
    body, key = application(s["id"]), {"Idempotency-Key": "apply-at-once", **couple.headers}
    responses = await asyncio.gather(*(client.post(APPS, json=body, headers=key) for _ in range(10)))
    assert [r.status_code for r in responses] == [201] * 10 and len({r.text for r in responses}) == 1
    assert await booked(client, office, s["id"]) == (1, 5)
    async with runtime.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM cross_province_application") == 1


async def test_the_residence_permit_route_asks_for_the_permit(client, runtime, admin, couple):
    """A period of the pilot's kind (as an admin would add one): the answer about the
    residence permit decides, and the permit joins the documents to upload."""
    office = await open_office(client, runtime, admin)
    period = {"code": "permit-test", "title_zh": "测试", "title_en": "Test", "effective_from": "2026-09-01",
              "rule": "residence_permit", "documents_local": ["id_card", "household_register"],
              "documents_nonlocal": ["id_card", "household_register", "residence_permit"], "prereview": True,
              "areas": {"marriage_registration": ["44"]}}
    assert (await client.post("/api/v1/jurisdiction/periods", json=period, headers=admin.headers)).status_code == 201
    s = await slot(client, office)
    without = await client.post(APPS, json=application(s["id"]), headers={**couple.headers, "Accept-Language": "en"})
    assert without.status_code == 409 and without.json()["code"] == "not-in-jurisdiction"
    assert "residence permit" in without.json()["detail"] and without.json()["reason"] == "residence_permit_required"
    shenzhen = await client.post(APPS, headers=couple.headers,
                                 json=application(s["id"], residence_permit={"party": 2, "division_code": "440306"}))
    assert shenzhen.status_code == 409
    app = await apply(client, couple, s["id"], residence_permit={"party": 2, "division_code": "440106"})
    assert app["route"] == "residence_permit" and app["policy_period_id"] == 4
    assert [d["kind"] for d in app["required_documents"]] == ["id_card", "household_register", "residence_permit"]
    assert {"kind": "residence_permit", "party": None} in [
        {"kind": m["kind"], "party": m["party"]} for m in app["missing_documents"]]
    assert app["answers"]["residence_permit"] == {"party": 2, "division_code": "440106"}
