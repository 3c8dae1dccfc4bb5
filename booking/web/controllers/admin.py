"""``/admin``: offices and their booking rules, staff accounts (create, deactivate, reactivate,
move to another office), the jurisdiction policy periods, the notifications that failed (retry)
and the audit log searched by who, what and when. Admins only; every change calls the API's
service (``offices.services``, ``accounts.services``/``management``, ``jurisdiction.services``,
``notifications.operations``) and is audited there."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, get_args
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts import management, mfa
from booking.accounts.principal import Principal
from booking.accounts.schemas import UserCreate
from booking.accounts.services import create_staff
from booking.audit.services import list_entries
from booking.context import Context
from booking.db.models import Office, UserAccount
from booking.errors import NotFound, Problem, invalid
from booking.i18n import lazy
from booking.jurisdiction import services as policy
from booking.jurisdiction.schemas import PeriodCreate, PeriodUpdate, RequiredKind
from booking.kernel.catalog import SERVICES
from booking.notifications.delivery import counts
from booking.notifications.operations import retry_failed, rows_in_state
from booking.offices import services as offices
from booking.offices.rules import rules_of
from booking.offices.schemas import OfficeCreate, OfficeUpdate
from booking.web.forms import FormState, parse, posted, refused, submit, unflatten
from booking.web.pages import NOTICES, redirect
from booking.web.staff import Desk, desk_page, require_admin

NOTICES.update({
    "office-created": lazy("The office is created. Its clerks set its schedule and slots."),
    "office-saved": lazy("The office and its booking rules are saved."),
    "account-created": lazy("The account is created."),
    "account-deactivated": lazy("The account is deactivated: its sessions end at once."),
    "account-reactivated": lazy("The account is active again; its holder logs in anew."),
    "account-moved": lazy("The clerk now works for the other office; their sessions end at once."),
    "mfa-reset": lazy("The second factor is cleared; they set it up again at their next login."),
    "period-saved": lazy("The policy period is saved and applies at once."),
    "notification-retried": lazy("The notification is queued again."),
})
# audit times are shown and searched in the service's home zone
AUDIT_TZ = ZoneInfo("Asia/Shanghai")
AUDIT_PAGE = 50
OFFICE_FIELDS = ("code", "name_zh", "name_en", "province_code", "division_code", "city", "address_zh", "address_en",
                 "timezone", "email", "phone")
EDITABLE = ("name_zh", "name_en", "city", "address_zh", "address_en", "email", "phone", "rules")
RULE_FLAGS = ("prereview_nonlocal",)
PERIOD_TEXT = ("code", "title_zh", "title_en", "legal_basis", "effective_from", "effective_to", "rule", "note")
AREA = re.compile(r"[\s,，、;；]+")
Text = Annotated[str | None, QueryParameter(max_length=254)]
FromDay = Annotated[str | None, QueryParameter(name="from", max_length=10)]
ToDay = Annotated[str | None, QueryParameter(name="to", max_length=10)]
PageNumber = Annotated[int, QueryParameter(name="page", ge=1, le=10_000)]


def _admin(request: Request[Any, Any, Any], viewer: Principal | None) -> Desk:
    return Desk(require_admin(request, viewer), None, "/admin")


def _render(request: Request[Any, Any, Any], desk: Desk, template: str, tab: str, *, status_code: int = 200,
            **context: Any) -> Response[Any]:
    return desk_page(request, template, desk, status_code=status_code, tab=tab, **context)


async def _all_offices(session: AsyncSession) -> list[Office]:
    return list((await session.execute(select(Office).order_by(Office.province_code, Office.code))).scalars())


class AdminPages(Controller):
    path = "/admin"

    # --- offices and their booking rules ---------------------------------------------
    @get("/", name="admin")
    async def office_list(self, request: Request[Any, Any, Any],
                          ctx: NamedDependency[Context]) -> Response[Any]:
        desk = _admin(request, ctx.principal)
        return await self._offices(request, ctx.session, desk, FormState())

    async def _offices(self, request: Request[Any, Any, Any], session: AsyncSession, desk: Desk, form: FormState,
                       status_code: int = 200) -> Response[Any]:
        return _render(request, desk, "admin/offices.html", "offices", status_code=status_code,
                       offices=await _all_offices(session), form=form, services=SERVICES)

    @post("/offices", name="admin-office-create")
    async def create_office(self, request: Request[Any, Any, Any],
                            ctx: NamedDependency[Context]) -> Response[Any]:
        desk = _admin(request, ctx.principal)
        form = await posted(request)
        chosen = (await request.form()).getall("services", [])

        async def act() -> Response[Any]:
            data = parse(OfficeCreate, {**unflatten(form, OFFICE_FIELDS), "services": chosen})
            office = await offices.create_office(ctx, data)
            return redirect(request, f"/admin/offices/{office.id}", notice="office-created")
        return await submit(ctx, form, (*OFFICE_FIELDS, "services"), act, lambda state, status: self._offices(
            request, ctx.session, desk, state, status))

    @get("/offices/{office_id:int}", name="admin-office")
    async def office(self, request: Request[Any, Any, Any], office_id: FromPath[int],
                     ctx: NamedDependency[Context]) -> Response[Any]:
        desk = _admin(request, ctx.principal)
        return await self._office(request, ctx.session, desk, office_id, FormState())

    async def _office(self, request: Request[Any, Any, Any], session: AsyncSession, desk: Desk, office_id: int,
                      form: FormState, status_code: int = 200) -> Response[Any]:
        row = await offices.get_office(session, office_id, active_only=False)
        rules = rules_of(row.rules).model_dump(mode="json")
        values = {f"rules.{k}": str(v)[:5] if k.endswith(("_time", "_at")) else str(v).lower()
                  if isinstance(v, bool) else str(v) for k, v in rules.items() if not isinstance(v, dict)}
        values.update({f"rules.no_show.{k}": str(v) for k, v in rules["no_show"].items()})
        values.update({k: getattr(row, k) or "" for k in OFFICE_FIELDS})
        return _render(request, desk, "admin/office.html", "offices", status_code=status_code, row=row,
                       stored=values, form=form, services=SERVICES,
                       clerks=await management.list_staff(session, office_id=office_id))

    @post("/offices/{office_id:int}", name="admin-office-save")
    async def save_office(self, request: Request[Any, Any, Any], office_id: FromPath[int],
                          ctx: NamedDependency[Context]) -> Response[Any]:
        desk = _admin(request, ctx.principal)
        form = await posted(request)
        raw = unflatten(form, EDITABLE)
        raw.setdefault("rules", {}).update({flag: form.get(f"rules.{flag}") == "on" for flag in RULE_FLAGS})
        for optional in ("email", "phone", "address_en"):
            raw.setdefault(optional, None if optional != "address_en" else "")
        chosen = (await request.form()).getall("services", [])

        async def act() -> Response[Any]:
            data = parse(OfficeUpdate, {**raw, "services": chosen,
                                        "is_active": form.get("is_active") == "on"})
            await offices.update_office(ctx, office_id, data)
            ctx.rt.offices.forget(office_id)  # this process sees the edit at once, as the API's
            return redirect(request, f"/admin/offices/{office_id}", notice="office-saved")
        shown = [k for k in form if k != "_csrf_token"] + ["services"]
        return await submit(ctx, form, shown, act, lambda state, status: self._office(
            request, ctx.session, desk, office_id, state, status))

    # --- staff accounts -----------------------------------------------------------------
    @get("/staff", name="admin-staff")
    async def staff(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context]) -> Response[Any]:
        return await self._staff(request, ctx.session, _admin(request, ctx.principal), FormState())

    async def _staff(self, request: Request[Any, Any, Any], session: AsyncSession, desk: Desk, form: FormState,
                     status_code: int = 200) -> Response[Any]:
        all_offices = await _all_offices(session)
        return _render(request, desk, "admin/staff.html", "staff", status_code=status_code, form=form,
                       accounts=await management.list_staff(session), offices=all_offices,
                       office_names={o.id: o for o in all_offices},
                       office_options=[(str(o.id), o.name_zh if request.state.locale.startswith("zh") else o.name_en)
                                       for o in all_offices])

    @post("/staff", name="admin-staff-create")
    async def create_account(self, request: Request[Any, Any, Any],
                             ctx: NamedDependency[Context]) -> Response[Any]:
        desk = _admin(request, ctx.principal)
        form = await posted(request)
        fields = ("email", "name", "password", "role", "office_id", "locale")

        async def act() -> Response[Any]:
            await create_staff(ctx, parse(UserCreate, unflatten(form, fields)))
            return redirect(request, "/admin/staff", notice="account-created")
        typed = {k: v for k, v in form.items() if k != "password"}  # a password is never shown again
        return await submit(ctx, typed, fields, act, lambda state, status: self._staff(
            request, ctx.session, desk, state, status))

    @post("/staff/{account_id:uuid}/{action:str}", name="admin-staff-change")
    async def change_account(self, request: Request[Any, Any, Any], account_id: FromPath[uuid.UUID],
                             action: FromPath[str], ctx: NamedDependency[Context]) -> Response[Any]:
        desk = _admin(request, ctx.principal)
        form = await posted(request)
        gate = ctx.rt.account_gate

        async def act() -> Response[Any]:
            if action in ("deactivate", "reactivate"):
                await management.set_active(ctx, gate, account_id,
                                            action == "reactivate")
                notice = f"account-{action}d"
            elif action == "office":
                raw = form.get("office_id")
                if not (isinstance(raw, str) and raw.isdigit() and len(raw) < 10):
                    raise invalid("office_id", lazy("No such office."))
                await management.move_clerk(ctx, gate, account_id, int(raw))
                notice = "account-moved"
            elif action == "mfa-reset":
                await mfa.reset(ctx, gate, account_id)
                notice = "mfa-reset"
            else:
                raise NotFound()
            return redirect(request, "/admin/staff", notice=notice)
        return await submit(ctx, {}, (), act, lambda state, status: self._staff(
            request, ctx.session, desk, state, status))

    # --- jurisdiction policy periods ---------------------------------------------------
    @get("/policy", name="admin-policy")
    async def periods(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context]) -> Response[Any]:
        return await self._periods(request, ctx, _admin(request, ctx.principal), {})

    async def _periods(self, request: Request[Any, Any, Any], ctx: Context, desk: Desk,
                       forms: dict[str, FormState],
                       status_code: int = 200) -> Response[Any]:
        return _render(request, desk, "admin/policy.html", "policy", status_code=status_code,
                       periods=await policy.list_periods(ctx.session,
                                                         ctx.locale), forms=forms, empty=FormState(),
                       kinds=get_args(RequiredKind), services=SERVICES)

    @post("/policy", name="admin-policy-create")
    async def create_period(self, request: Request[Any, Any, Any],
                            ctx: NamedDependency[Context]) -> Response[Any]:
        desk = _admin(request, ctx.principal)
        form = await posted(request)
        raw = await _period_input(request, form)

        async def act() -> Response[Any]:
            await policy.create_period(ctx, parse(PeriodCreate, raw))
            return redirect(request, "/admin/policy", notice="period-saved")
        return await submit(ctx, form, _period_fields(form), act, lambda state, status: self._periods(
            request, ctx, desk, {"new": state}, status))

    @post("/policy/{period_id:int}", name="admin-policy-save")
    async def save_period(self, request: Request[Any, Any, Any], period_id: FromPath[int],
                          ctx: NamedDependency[Context]) -> Response[Any]:
        desk = _admin(request, ctx.principal)
        form = await posted(request)
        raw = await _period_input(request, form)
        raw.pop("code", None)  # a period's code is its stable name
        raw.setdefault("effective_to", None)
        raw.setdefault("note", None)

        async def act() -> Response[Any]:
            await policy.update_period(ctx, period_id, parse(PeriodUpdate, raw))
            return redirect(request, "/admin/policy", notice="period-saved")
        return await submit(ctx, form, _period_fields(form), act, lambda state, status: self._periods(
            request, ctx, desk, {str(period_id): state}, status))

    # --- notifications that failed ------------------------------------------------------
    @get("/notifications", name="admin-notifications")
    async def notifications(self, request: Request[Any, Any, Any],
                            ctx: NamedDependency[Context]) -> Response[Any]:
        return await self._notifications(request, ctx, _admin(request, ctx.principal), FormState())

    async def _notifications(self, request: Request[Any, Any, Any], ctx: Context, desk: Desk, form: FormState,
                             status_code: int = 200) -> Response[Any]:
        return _render(request, desk, "admin/notifications.html", "notifications", status_code=status_code,
                       counts=await counts(ctx.rt), failed=await rows_in_state(ctx.session, "failed", 200),
                       form=form, tz=AUDIT_TZ.key)

    @post("/notifications/{notification_id:uuid}/retry", name="admin-notification-retry")
    async def retry(self, request: Request[Any, Any, Any], notification_id: FromPath[uuid.UUID],
                    ctx: NamedDependency[Context]) -> Response[Any]:
        desk = _admin(request, ctx.principal)

        async def act() -> Response[Any]:
            await retry_failed(ctx, notification_id)
            return redirect(request, "/admin/notifications", notice="notification-retried")
        return await submit(ctx, {}, (), act, lambda state, status: self._notifications(
            request, ctx, desk, state, status))

    # --- the audit log --------------------------------------------------------------------
    @get("/audit", name="admin-audit")
    async def audit(self, request: Request[Any, Any, Any], ctx: NamedDependency[Context], who: Text = None,
                    what: Text = None,
                    start: FromDay = None, end: ToDay = None, page_number: PageNumber = 1) -> Response[Any]:
        desk = _admin(request, ctx.principal)
        values = {k: v for k, v in (("who", who), ("what", what), ("from", start), ("to", end)) if v}
        form = FormState(values=values)
        rows: list[Any] = []
        total = 0
        try:
            actor_id = await _who(ctx.session, who)
            since = _day_start(start, "from")
            until = _day_start(end, "to", next_day=True)
            if actor_id is not False:
                rows, total = await list_entries(ctx.session, office_id=None,
                                                 action=(what or "").strip() or None,
                                                 limit=AUDIT_PAGE, offset=(page_number - 1) * AUDIT_PAGE,
                                                 actor_id=actor_id or None, since=since, until=until)
        except Problem as problem:
            form = refused(problem, values, ("who", "what", "from", "to"))
        ids = {r.actor_id for r in rows if r.actor_id}
        emails = dict((await ctx.session.execute(select(UserAccount.id, UserAccount.email).where(
            UserAccount.id.in_(ids)))).all()) if ids else {}  # type: ignore[attr-defined]
        return _render(request, desk, "admin/audit.html", "audit", status_code=400 if form.failed else 200,
                       rows=rows, total=total, emails=emails, form=form, tz=AUDIT_TZ.key, page=page_number,
                       pages=max(1, -(-total // AUDIT_PAGE)), query=values)


async def _who(session: AsyncSession, who: str | None) -> uuid.UUID | None | bool:
    """An account's e-mail or id → its id; None: anyone; False: nobody by that name."""
    text = (who or "").strip()
    if not text:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        pass
    found = (await session.execute(select(UserAccount.id).where(UserAccount.email == text.lower()))).scalar()
    return found if found is not None else False


def _day_start(value: str | None, field: str, *, next_day: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise invalid(field, lazy("Enter a date as YYYY-MM-DD.")) from None
    return datetime.combine(day + timedelta(days=1 if next_day else 0), time(0), tzinfo=AUDIT_TZ)


def _period_fields(form: dict[str, Any]) -> list[str]:
    return [k for k in form if k != "_csrf_token"] + ["areas", "documents_local", "documents_nonlocal"]


async def _period_input(request: Request[Any, Any, Any], form: dict[str, Any]) -> dict[str, Any]:
    """A period's form as the API's body: documents are checkboxes, each service's scope a list
    of area codes typed with spaces or commas."""
    multi = await request.form()
    raw = unflatten(form, PERIOD_TEXT)
    raw["prereview"] = form.get("prereview") == "on"
    raw["documents_local"] = multi.getall("documents_local", [])
    raw["documents_nonlocal"] = multi.getall("documents_nonlocal", [])
    raw["areas"] = {service: [c for c in AREA.split(str(form.get(f"areas.{service}") or "")) if c]
                    for service in SERVICES if str(form.get(f"areas.{service}") or "").strip()}
    return raw
