"""Server-rendered pages (Jinja2 templates, HTMX where a partial update helps) on the same
services as the API.

The foundation every area of pages shares, couples' and staff's alike:

- ``web_handlers(settings)``: the page router (its controllers, the CSRF middleware on every
  form, the page session and language hook, HTML error pages) and the static files;
- ``templates.template_config()``: the Jinja2 environment (translations, Babel formatting);
- ``pages``: ``page()`` renders a template, ``redirect()`` answers a form post, notices;
- ``session``: the page session (the API's token in an HttpOnly cookie), ``require_login``;
- ``forms``: read a posted form with the API's schema, show a service's refusal beside the
  fields it names.

A new area adds a controller under ``controllers/`` and lists it in ``PAGE_CONTROLLERS``.
Staff pages build on ``staff`` (``require_staff``, ``desk_for``: the office a page works on,
``desk_page``) and extend ``templates/desk/base.html`` (the staff navigation).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from litestar import Router
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.middleware.compression import CompressionMiddleware
from litestar.static_files import create_static_files_router

from booking.settings import Settings
from booking.web.controllers.accounts import AccountPages
from booking.web.controllers.admin import AdminPages
from booking.web.controllers.applications import CrossProvincePages
from booking.web.controllers.ballots import BallotPages
from booking.web.controllers.desk_applications import DeskApplicationPages
from booking.web.controllers.desk_ballots import DeskBallotPages
from booking.web.controllers.desk_checkin import DeskCheckInPages
from booking.web.controllers.desk_events import DeskEventPages
from booking.web.controllers.desk_home import DeskHomePages
from booking.web.controllers.desk_login import StaffSignInPages
from booking.web.controllers.desk_schedule import DeskSchedulePages
from booking.web.controllers.desk_slots import DeskSlotPages
from booking.web.controllers.desk_walkin import DeskWalkInPages
from booking.web.controllers.divorce import DivorceDeskPages, DivorcePages
from booking.web.controllers.events import EventPages
from booking.web.controllers.home import HomePages
from booking.web.controllers.me import MyPages
from booking.web.controllers.offices import OfficePages
from booking.web.errors import PageCSRFMiddleware, page_exception_handlers
from booking.web.pages import prepare_page, provide_page_ctx
from booking.web.staff import OfficeChoice, on_office_choice
from booking.web.templates import STATIC

PAGE_CONTROLLERS: list[Any] = [HomePages, AccountPages, OfficePages, MyPages, CrossProvincePages, EventPages,
                               BallotPages, DivorcePages, DivorceDeskPages]
# The staff pages (booking.web.staff: guard, office, layout templates/desk/base.html)
PAGE_CONTROLLERS += [StaffSignInPages, DeskHomePages, DeskCheckInPages, DeskWalkInPages,
                     DeskApplicationPages, DeskEventPages]
PAGE_CONTROLLERS += [DeskBallotPages]
# the office's schedule and slots, and the administration (branch desk-admin)
PAGE_CONTROLLERS += [DeskSchedulePages, DeskSlotPages, AdminPages]

CSRF_COOKIE = "csrftoken"


def csrf_config(settings: Settings) -> CSRFConfig:
    # its own key, derived from the signing key: a CSRF token is no access token
    secret = hmac.new(settings.secret_key.encode(), b"page-csrf", hashlib.sha256).hexdigest()
    return CSRFConfig(secret=secret, cookie_name=CSRF_COOKIE, cookie_httponly=True, cookie_samesite="lax",
                      cookie_secure=settings.env == "production")


# Pages and assets are sent gzipped to browsers that take it (phones at the rush); the API's
# hot JSON is left as it is.
GZIP = DefineMiddleware(CompressionMiddleware, config=CompressionConfig(backend="gzip", minimum_size=1000,
                                                                       gzip_compress_level=6))


def web_handlers(settings: Settings) -> list[Any]:
    pages = Router(
        path="/", route_handlers=PAGE_CONTROLLERS,
        middleware=[GZIP, DefineMiddleware(PageCSRFMiddleware, config=csrf_config(settings))],
        before_request=prepare_page,
        dependencies={"ctx": Provide(provide_page_ctx)},
        exception_handlers={**page_exception_handlers, OfficeChoice: on_office_choice},
        # the page session is a cookie read by the pages themselves, never a bearer token
        opt={"exclude_from_auth": True}, include_in_schema=False,
    )
    static = create_static_files_router(
        path="/static", directories=[STATIC], opt={"exclude_from_auth": True}, include_in_schema=False,
        middleware=[GZIP],
        # asset URLs carry their content's hash (templates.static), so they may be kept long
        cache_control=CacheControlHeader(max_age=31_536_000, public=True))
    return [pages, static]
