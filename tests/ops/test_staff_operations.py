"""What the staff pages read and do beyond what the API had: a closure's preview (the same rule
as the closure), staff accounts listed, a failed notification retried, the audit log searched
by who, what and when. Each through the API; the pages call the same services."""

from __future__ import annotations

import uuid
from datetime import timedelta

from tests.factories import make_actor, open_office
from tests.appointments.test_appointments import body, slot_on


async def test_a_closures_preview_lists_exactly_what_the_closure_then_cancels(client, runtime, admin):
    office = await open_office(client, runtime, admin)
    booked = []
    for index in (0, 1):  # two couples on the day, one of them checked-in later would still count
        couple = await make_actor(runtime, "couple")
        slot = await slot_on(client, office, "2026-09-16", index)
        booked.append((await client.post("/api/v1/appointments", json=body(slot), headers=couple.headers)).json())
    gone = await make_actor(runtime, "couple")
    cancelled = (await client.post("/api/v1/appointments", json=body(await slot_on(client, office, "2026-09-16")),
                                   headers=gone.headers)).json()
    await client.post(f"/api/v1/appointments/{cancelled['id']}/cancel", headers=gone.headers)
    other_day = await make_actor(runtime, "couple")
    await client.post("/api/v1/appointments", json=body(await slot_on(client, office, "2026-09-17")),
                      headers=other_day.headers)

    preview = await client.get(f"/api/v1/offices/{office.id}/closures/preview?date=2026-09-16",
                               headers=office.clerk.headers)
    assert preview.status_code == 200, preview.text
    shown = preview.json()
    assert {a["code"] for a in shown["appointments"]} == {b["code"] for b in booked}
    assert shown["open_slots"] == 2
    assert all("*" in p["id_number"] for a in shown["appointments"] for p in a["parties"])  # masked
    closed = await client.post(f"/api/v1/offices/{office.id}/closures", json={"date": "2026-09-16"},
                               headers=office.clerk.headers)
    assert closed.json()["cancelled_appointments"] == len(shown["appointments"])
    after = await client.get(f"/api/v1/offices/{office.id}/closures/preview?date=2026-09-16",
                             headers=office.clerk.headers)
    assert after.json() == {"date": "2026-09-16", "open_slots": 0, "appointments": []}


async def test_another_offices_preview_is_not_found(client, runtime, admin):
    office = await open_office(client, runtime, admin)
    other = await open_office(client, runtime, admin, code="GZ-OTHER")
    assert (await client.get(f"/api/v1/offices/{other.id}/closures/preview?date=2026-09-16",
                             headers=office.clerk.headers)).status_code == 404
    assert (await client.get(f"/api/v1/offices/{office.id}/closures/preview?date=2026-09-16",
                             headers=admin.headers)).status_code == 200


async def test_admins_list_staff_accounts_never_couples(client, runtime, admin):
    office = await open_office(client, runtime, admin)
    await make_actor(runtime, "couple")
    listed = await client.get("/api/v1/users", headers=admin.headers)
    assert listed.status_code == 200
    roles = {a["role"] for a in listed.json()["data"]}
    assert roles == {"admin", "clerk"}
    of_office = (await client.get(f"/api/v1/users?office_id={office.id}", headers=admin.headers)).json()["data"]
    assert [a["id"] for a in of_office] == [str(office.clerk.id)]
    assert (await client.get("/api/v1/users", headers=office.clerk.headers)).status_code == 403


async def _failed_notification(runtime) -> uuid.UUID:
    row_id = uuid.uuid4()
    async with runtime.db.raw() as conn:
        await conn.execute(
            "INSERT INTO notification (id, kind, channel, account_id, locale, subject_type, subject_id, sequence, "
            "due_at, state, next_attempt_at, attempts, last_error, payload, created_at) VALUES ($1, "
            "'appointment.confirmed', 'email', $2, 'zh_Hans_CN', 'appointment', $3, 0, now(), 'failed', now(), 6, "
            "'550 mailbox unavailable', '{}', now())", row_id, uuid.uuid4(), uuid.uuid4())
    return row_id


async def test_a_failed_notification_is_retried_once_and_audited(client, runtime, admin):
    row_id = await _failed_notification(runtime)
    couple = await make_actor(runtime, "couple")
    assert (await client.post(f"/api/v1/admin/notifications/{row_id}/retry", headers=couple.headers)).status_code == 403
    retried = await client.post(f"/api/v1/admin/notifications/{row_id}/retry", headers=admin.headers)
    assert retried.status_code == 200 and retried.json()["state"] == "pending" and retried.json()["attempts"] == 0
    again = await client.post(f"/api/v1/admin/notifications/{row_id}/retry",
                              headers={**admin.headers, "Accept-Language": "en"})
    assert again.status_code == 409 and again.json()["code"] == "notification-not-failed"
    assert (await client.post(f"/api/v1/admin/notifications/{uuid.uuid4()}/retry",
                              headers=admin.headers)).status_code == 404
    audit = (await client.get("/api/v1/audit?action=notification", headers=admin.headers)).json()
    assert [(e["action"], e["target_id"]) for e in audit["data"]] == [("notification.retry", str(row_id))]


async def test_the_audit_log_is_searched_by_who_what_and_when(client, runtime, admin, clock):
    office = await open_office(client, runtime, admin)
    await client.post(f"/api/v1/offices/{office.id}/closures", json={"date": "2026-09-16"},
                      headers=office.clerk.headers)
    by_clerk = (await client.get(f"/api/v1/audit?actor_id={office.clerk.id}", headers=admin.headers)).json()
    assert by_clerk["total"] >= 2 and {e["actor_id"] for e in by_clerk["data"]} == {str(office.clerk.id)}
    closures = (await client.get("/api/v1/audit?action=office_day", headers=admin.headers)).json()
    assert [e["action"] for e in closures["data"]] == ["office_day.closure.add"]
    assert (await client.get("/api/v1/audit?action=office_da", headers=admin.headers)).json()["total"] == 0
    at = closures["data"][0]["at"]
    later = (clock.now() + timedelta(days=1)).isoformat()
    window = await client.get("/api/v1/audit", params={"action": "office_day", "from": at, "to": later},
                              headers=admin.headers)
    assert window.status_code == 200, window.text
    assert window.json()["total"] == 1
    before = await client.get("/api/v1/audit", params={"action": "office_day", "to": at}, headers=admin.headers)
    assert before.json()["total"] == 0
    naive = await client.get("/api/v1/audit", params={"from": "2026-09-10T00:00:00"}, headers=admin.headers)
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "from"
