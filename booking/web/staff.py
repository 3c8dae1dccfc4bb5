"""The staff pages' foundation: who may open a desk page, for which office (an admin chooses it on ``/desk/offices``), and the layout
every desk and admin page shares (``templates/desk/base.html``: the staff navigation).

- ``require_staff(request, viewer)``: a clerk or an admin (a couple gets 403, nobody a
  redirect to /login); ``require_admin`` for the admin pages.
- ``desk_for(...)``: the office a desk page works on. A clerk works on their own office; a
  page asked for another office (``?office=N``) answers 404, exactly as the API's
  ``Principal.require_office`` (unknown and forbidden look the same). An admin names the
  office with ``?office=N``; without it the page redirects to ``/desk/offices`` to choose one
  (``OfficeChoice``).
- ``desk_page(...)``: renders a desk template with ``desk`` (office, principal, the
  navigation, ``desk.href(path)`` for links that keep an admin's office) in its context.

The services the pages call check the office again (the API's own checks): these helpers
choose what to show, they are not the only guard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.params import QueryParameter
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.principal import Principal
from booking.context import Context
from booking.db.models import Office
from booking.errors import Forbidden, NotFound
from booking.i18n import LazyText, lazy
from booking.offices.directory import OfficeInfo
from booking.web.controllers.accounts import HOME_OF_ROLE
from booking.web.pages import page
from booking.web.session import require_login

STAFF_ROLES = ("clerk", "admin")
# where a staff login lands when no page asked for one
HOME_OF_ROLE.update({"clerk": "/desk", "admin": "/desk"})

# ?office=N on every desk page: the office an admin works on (a clerk's must be their own)
OfficeParam = Annotated[int | None, QueryParameter(name="office", ge=1, le=2_147_483_647)]


@dataclass(frozen=True)
class NavItem:
    path: str
    label: LazyText
    admin_only: bool = False
    office_bound: bool = True  # the link carries an admin's ?office=


# The staff navigation, in the order of a working day. Every desk page is listed here,
# whichever branch builds it.
STAFF_NAV: tuple[NavItem, ...] = (
    NavItem("/desk", lazy("Today")),
    NavItem("/desk/check-in", lazy("Check-in")),
    NavItem("/desk/walk-in", lazy("Walk-in")),
    NavItem("/desk/schedule", lazy("Schedule")),
    NavItem("/desk/slots", lazy("Slots")),
    NavItem("/desk/applications", lazy("Applications")),
    NavItem("/desk/events", lazy("Weddings")),
    NavItem("/desk/ballots", lazy("Ballots")),
    NavItem("/desk/divorce", lazy("Divorce")),
    NavItem("/admin", lazy("Administration"), admin_only=True, office_bound=False),
)


def require_staff(request: Request[Any, Any, Any], viewer: Principal | None) -> Principal:
    """A clerk (with an office) or an admin; a couple is told the page is not theirs (403)."""
    principal = require_login(request, viewer)
    if principal.is_admin or (principal.is_clerk and principal.office_id is not None):
        return principal
    raise Forbidden()


def require_admin(request: Request[Any, Any, Any], viewer: Principal | None) -> Principal:
    principal = require_login(request, viewer)
    if not principal.is_admin:
        raise Forbidden()
    return principal


@dataclass
class Desk:
    """What a desk page works on, and what its layout needs."""

    principal: Principal
    office: OfficeInfo | None  # None: an admin who has not chosen an office yet
    current: str = "/desk"  # the navigation entry of this page
    nav: tuple[NavItem, ...] = field(default=STAFF_NAV)

    @property
    def office_id(self) -> int:
        if self.office is None:  # a handler forgot OfficeChoice: never act on no office
            raise NotFound()
        return self.office.id

    @property
    def query(self) -> str:
        """``?office=N`` for an admin (a clerk's office is implied)."""
        return f"?office={self.office.id}" if self.principal.is_admin and self.office is not None else ""

    def href(self, path: str, **params: Any) -> str:
        """A desk URL keeping an admin's office: ``desk.href('/desk/check-in', code='X')``."""
        query = [f"office={self.office.id}"] if self.principal.is_admin and self.office is not None else []
        query += [f"{k}={v}" for k, v in params.items() if v is not None]
        return path + ("?" + "&".join(query) if query else "")

    def links(self) -> list[tuple[str, LazyText, bool]]:
        """(url, label, is this page) for the navigation the principal may use."""
        return [(self.href(i.path) if i.office_bound else i.path, i.label, i.path == self.current)
                for i in self.nav if self.principal.is_admin or not i.admin_only]


class OfficeChoice(Exception):  # noqa: N818 - a signal: an admin must choose an office first
    """Handled by a redirect to ``/desk/offices?next=<the page>`` (``on_office_choice``)."""

    def __init__(self, next_path: str) -> None:
        super().__init__("office to choose")
        self.next_path = next_path


def on_office_choice(request: Request[Any, Any, Any], exc: OfficeChoice) -> Response[Any]:
    return Redirect(path=f"/desk/offices?next={quote(exc.next_path, safe='/')}", status_code=303)


async def desk_for(request: Request[Any, Any, Any], ctx: Context, office: int | None, current: str, *,
                   choose: bool = True) -> Desk:
    """The desk of the page: the principal (staff only) and the office it works on.

    A clerk: their own office; any other ``office`` is 404. An admin: the ``office`` asked
    for; none asked raises ``OfficeChoice`` (``choose=False``: a ``Desk`` without office)."""
    principal = require_staff(request, ctx.principal)
    office_id = office if office is not None else principal.office_id
    if office_id is None:
        if choose:
            raise OfficeChoice(request.url.path)
        return Desk(principal, None, current)
    principal.require_office(office_id)  # a clerk of another office: 404, as the API
    return Desk(principal, await ctx.rt.offices.of(office_id, ctx.session), current)


async def offices_to_choose(session: AsyncSession) -> list[Office]:
    return list((await session.execute(select(Office).where(Office.is_active.is_(True))  # type: ignore[attr-defined]
                                       .order_by(Office.province_code, Office.code))).scalars().all())


def desk_page(request: Request[Any, Any, Any], template: str, desk: Desk, *, status_code: int = 200,
              fragment: str | None = None, **context: Any) -> Response[Any]:
    """A desk page: never cached (it holds the office's data), with the desk in its context."""
    return page(request, template, status_code=status_code, fragment=fragment, private=True, desk=desk,
                office=desk.office, **context)



def office_moments(form: dict[str, Any], names: tuple[str, ...], desk: Desk) -> dict[str, str]:
    """A form's ``datetime-local`` fields as the API's aware times: what a clerk types is
    the office's local time. A value that is no time is passed on as typed, for the
    schema to say what is wrong with it."""
    assert desk.office is not None
    moments: dict[str, str] = {}
    for name in names:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            try:
                moments[name] = datetime.fromisoformat(value.strip()).replace(tzinfo=desk.office.tz).isoformat()
            except ValueError:
                moments[name] = value
    return moments
