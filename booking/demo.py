"""``booking demo`` and ``booking users create``: seed data through the same services the
API uses (offices, schedules, slots, accounts, and an event of each kind per office).
Running the demo twice changes nothing that exists.

Demo accounts get passwords generated on their creation (nothing fixed in the code, so no
published password can open a deployment). They are printed and kept, for the next run to
print again, in ``BOOKING_DATA_DIR/demo-logins.json`` (mode 0600, beside the generated keys
of ``secrets.json``). The demo refuses to run in production (``cli.cmd_demo``).
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.schemas import RegisterIn, UserCreate
from booking.accounts.services import EmailTaken, create_staff, register_couple
from booking.clock import Clock
from booking.context import Context
from booking.db.models import Event, Office, OfficeDay, ScheduleWindow, UserAccount
from booking.offices.schemas import OfficeCreate
from booking.offices.services import create_office
from booking.runtime import Runtime
from booking.schedules.schemas import SpecialOpeningCreate, WeeklyScheduleIn, WeeklyWindowIn, WindowIn
from booking.schedules.services import add_special_opening, replace_schedule
from booking.settings import Settings
from booking.slots.generation import generate_slots

DEMO_OFFICES = [
    {"code": "GZ-TIANHE", "name_zh": "广州市天河区婚姻登记处", "name_en": "Tianhe District Marriage Registry, Guangzhou",
     "province_code": "44", "division_code": "440106", "city": "广州",
     "address_zh": "广州市天河区天府路1号", "address_en": "1 Tianfu Road, Tianhe District, Guangzhou"},
    {"code": "SZ-FUTIAN", "name_zh": "深圳市福田区婚姻登记处", "name_en": "Futian District Marriage Registry, Shenzhen",
     "province_code": "44", "division_code": "440304", "city": "深圳",
     "address_zh": "深圳市福田区福中三路2号", "address_en": "2 Fuzhong 3rd Road, Futian District, Shenzhen"},
    {"code": "CD-JINJIANG", "name_zh": "成都市锦江区婚姻登记处", "name_en": "Jinjiang District Marriage Registry, Chengdu",
     "province_code": "51", "division_code": "510104", "city": "成都",
     "address_zh": "成都市锦江区东大街3号", "address_en": "3 East Street, Jinjiang District, Chengdu"},
    {"code": "BJ-CHAOYANG", "name_zh": "北京市朝阳区婚姻登记处", "name_en": "Chaoyang District Marriage Registry, Beijing",
     "province_code": "11", "division_code": "110105", "city": "北京",
     "address_zh": "北京市朝阳区朝阳路4号", "address_en": "4 Chaoyang Road, Chaoyang District, Beijing"},
]

DEMO_LOGINS_FILE = "demo-logins.json"

_HOURS = [(time(9), time(10)), (time(10), time(11)), (time(11), time(12)),
          (time(14), time(15)), (time(15), time(16)), (time(16), time(17))]


def demo_schedule() -> WeeklyScheduleIn:
    return WeeklyScheduleIn(windows=[
        WeeklyWindowIn(weekday=weekday, start=start, end=end,
                       capacities={"marriage_registration": 10, "certificate_reissue": 3})
        for weekday in range(1, 6) for start, end in _HOURS
    ])


def next_may_20(today: date) -> date:
    candidate = date(today.year, 5, 20)
    return candidate if candidate >= today else date(today.year + 1, 5, 20)


async def seed_demo(settings: Settings, clock: Clock | None = None) -> list[str]:
    """``clock``: the browser tests seed the world as of their fixed time."""
    runtime = Runtime.build(settings, clock)
    lines: list[str] = []
    try:
        async with runtime.db.session() as session:
            now = runtime.clock.now()
            system = Context.system(runtime, session)  # the demo's data, written as SYSTEM
            offices: list[Office] = []
            for spec in DEMO_OFFICES:
                office = (await session.execute(select(Office).where(Office.code == spec["code"]))).scalar_one_or_none()
                if office is None:
                    office = await create_office(system, OfficeCreate(
                        **spec, services=["marriage_registration", "certificate_reissue"]))
                offices.append(office)
            for office in offices:
                assert office.id is not None
                has_schedule = (await session.execute(
                    select(ScheduleWindow.id).where(ScheduleWindow.office_id == office.id).limit(1))).first()
                if not has_schedule:
                    await replace_schedule(system, office.id, demo_schedule())
                may20 = next_may_20(now.date())
                has_opening = (await session.execute(
                    select(OfficeDay.id).where(OfficeDay.office_id == office.id, OfficeDay.day == may20))).first()
                if not has_opening:
                    # extra hours beside the usual ones (a special opening never stacks on them)
                    await add_special_opening(system, office.id, SpecialOpeningCreate(
                        date=may20, note="5·20 特别开放日 / 5-20 extended opening",
                        windows=[WindowIn(start=start, end=end, capacities={"marriage_registration": 20})
                                 for start, end in ((time(8), time(9)), (time(12), time(14)),
                                                    (time(17), time(19)))],
                    ))
                rules = office.rules or {}
                start = now.astimezone(ZoneInfo(office.timezone)).date()
                end = start + timedelta(days=int(rules.get("booking_window_days", 15)) + 1)
                result = await generate_slots(system, office.id, start, end, allow_unannounced=True)
                lines.append(f"office {office.code} (id {office.id}): {result.created} new slots "
                             f"{start}..{end}")
                if result.assumed_years:
                    lines.append(f"  note: no published 调休 schedule for {result.assumed_years}; statutory "
                                 "holidays only")

            logins = DemoLogins(settings.data_dir / DEMO_LOGINS_FILE)
            accounts = [("admin@demo.invalid", "admin", None, "演示管理员")]
            for office in offices:
                accounts.append((f"clerk.{office.code.lower()}@demo.invalid", "clerk", office.id,
                                 f"{office.name_zh}登记员"))
            for email, role, office_id, name in accounts:
                exists = (await session.execute(select(UserAccount.id).where(UserAccount.email == email))).first()
                if not exists:
                    await create_staff(system, UserCreate(
                        email=email, password=logins.new(email), name=name, role=role, office_id=office_id))
                lines.append(f"{role:6} {email}  password: {logins.shown(email)}")
            lines += await seed_events(runtime, session, offices)
            couple_email = "couple@demo.invalid"
            exists = (await session.execute(select(UserAccount.id).where(UserAccount.email == couple_email))).first()
            if not exists:
                try:
                    await register_couple(session, runtime, RegisterIn(
                        email=couple_email, password=logins.new(couple_email), name="演示新人",
                        phone="13800138000"))
                except EmailTaken:
                    pass
            lines.append(f"couple {couple_email}  password: {logins.shown(couple_email)}")
            base = settings.public_base_url.rstrip("/")
            lines.append(f"pages  {base}/  (couples: offices, booking, /me, /events, /cross-province)")
            lines.append(f"desk   {base}/desk  (clerks, with a clerk's login above; admins also {base}/admin)")
            lines.append(f"api    {base}/api/v1  (docs: {base}/schema)")
    finally:
        await runtime.close()
    return lines


class DemoLogins:
    """The generated passwords of the demo accounts, kept in a file readable by its owner
    only, so that a second run prints the same logins instead of changing them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}

    def new(self, email: str) -> str:
        password = secrets.token_urlsafe(12)
        self.known[email] = password
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(self.known, fh)
        tmp.replace(self.path)
        return password

    def shown(self, email: str) -> str:
        return self.known.get(email, f"(set when created; not in {self.path})")


# One event of each kind per demo office: (kind, days ahead, weekday (ISO), start, hours, capacity,
# guests per couple, guest seats, eligibility, title zh, title en)
DEMO_EVENTS = [
    ("collective", 30, 6, time(9, 30), 2, 100, 2, 160, {}, "{office}新婚集体婚礼",
     "Collective Wedding at {office}"),
    ("charity", 45, 6, time(10, 0), 3, 20, 4, 60, {}, "{office}爱心慈善婚礼", "Charity Wedding at {office}"),
    ("memorial", 60, 7, time(9, 0), 2, 30, 4, 100, {"min_years_married": 50}, "{office}金婚纪念婚礼",
     "Golden Wedding Celebration at {office}"),
]


async def seed_events(runtime: Runtime, session: AsyncSession, offices: list[Office]) -> list[str]:
    """An upcoming event of each kind per office, unless the office has one of that kind
    not yet over (so a second run adds nothing)."""
    from booking.events.schemas import EligibilityIn, EventCreate
    from booking.events.services import create_event
    now = runtime.clock.now()
    lines = []
    for office in offices:
        tz = ZoneInfo(office.timezone)
        for kind, ahead, weekday, start, hours, capacity, guests, seats, rules, title_zh, title_en in DEMO_EVENTS:
            existing = (await session.execute(select(Event.id).where(
                Event.office_id == office.id, Event.kind == kind, Event.ends_at > now).limit(1))).first()
            if existing:
                lines.append(f"event  {kind:10} at {office.code}: exists")
                continue
            day = now.astimezone(tz).date() + timedelta(days=ahead)
            day += timedelta(days=(weekday - day.isoweekday()) % 7)
            starts = datetime.combine(day, start, tzinfo=tz)
            created = await create_event(Context.system(runtime, session, "zh_Hans_CN"), EventCreate(
                office_id=office.id or 0, kind=kind,  # type: ignore[arg-type]
                title_zh=title_zh.format(office=office.name_zh), title_en=title_en.format(office=office.name_en),
                description_zh="演示活动：欢迎报名。", description_en="A demo event: sign-ups welcome.",
                venue_zh="婚姻登记处颁证大厅", venue_en="Certificate Hall of the Registry",
                address_zh=office.address_zh, address_en=office.address_en, starts_at=starts,
                ends_at=starts + timedelta(hours=hours), capacity=capacity, guests_per_couple=guests,
                guest_seats=seats, eligibility=EligibilityIn(**rules)))
            lines.append(f"event  {kind:10} at {office.code}: {created.id} on {day}")
    return lines


async def create_user_cli(settings: Settings, email: str, password: str, role: str, office_code: str | None,
                          name: str | None) -> str:
    runtime = Runtime.build(settings)
    try:
        async with runtime.db.session() as session:
            office_id = None
            if office_code:
                office = (await session.execute(select(Office).where(Office.code == office_code))).scalar_one_or_none()
                if office is None:
                    raise ValueError(f"no office with code {office_code}")
                office_id = office.id
            if role == "clerk" and office_id is None:
                raise ValueError("a clerk needs --office CODE")
            try:
                data = UserCreate(email=email, password=password, name=name or email.split("@")[0], role=role,
                                    office_id=office_id)
            except Exception as exc:  # pydantic's message names the field at fault
                raise ValueError(str(exc).splitlines()[0] + ": " + str(exc).splitlines()[1].strip()) from exc
            try:
                account = await create_staff(Context.system(runtime, session), data)
            except EmailTaken as exc:
                raise ValueError(f"an account with email {email} exists") from exc
            return f"created {account.role} {account.email} (id {account.id})"
    finally:
        await runtime.close()
