"""The Litestar application: controllers, error mapping, OpenAPI and the runtime's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from booking import __version__
from booking.accounts.controllers import AccountController, AuthController
from booking.accounts.tokens import build_jwt_auth
from booking.applications.controllers import ApplicationController, ApplicationQueueController
from booking.appointments.controllers import AppointmentController, DeskController
from booking.audit.controllers import AuditController
from booking.background.lifespan import start_background, stop_background
from booking.background.wiring import register_areas
from booking.ballots.controllers import BallotController, BallotEntryController
from booking.calendar.controllers import CalendarFeedController
from booking.deps import provide_ctx
from booking.divorce.controllers import DivorceCaseController, OfficeDivorceController
from booking.events.controllers import EventController, EventFeedController, SignupController
from booking.http.problems import exception_handlers
from booking.i18n import load_catalogs
from booking.jurisdiction.controllers import JurisdictionController
from booking.kernel.heap import freeze_startup_heap
from booking.logs import configure_logging
from booking.notifications.controllers import NotificationController
from booking.observability import api_observability
from booking.observability.http import MetricsController, count_unmatched, metrics_middleware
from booking.observability.tracing import setup_tracing
from booking.offices.controllers import OfficeController
from booking.openapi import allowed_methods, docs_page, document_truthfully, fix_allow
from booking.ops.controllers import OpsController
from booking.peakdays.controllers import PeakDayController
from booking.runtime import Runtime
from booking.schedules.controllers import ScheduleController
from booking.security.limits import MULTIPART_OVERHEAD, MULTIPART_PART_LIMIT, BoundedRequest, body_limits
from booking.settings import Settings, get_settings
from booking.slots.controllers import AvailabilityController, SlotController
from booking.web import web_handlers
from booking.web.errors import unmatched_page, wants_page
from booking.web.templates import template_config

CONTROLLERS: list[Any] = [
    OpsController,
    AuthController,
    AccountController,
    OfficeController,
    ScheduleController,
    AvailabilityController,
    SlotController,
    AppointmentController,
    DeskController,
    AuditController,
    NotificationController,
    CalendarFeedController,
    JurisdictionController,
    ApplicationController,
    ApplicationQueueController,
    DivorceCaseController,
    OfficeDivorceController,
    EventController,
    SignupController,
    EventFeedController,
    MetricsController,
    PeakDayController,
    BallotController,
    BallotEntryController,
]


def _not_found(request: Any, exc: HTTPException) -> Any:
    """An address no route matches: a browser asking for a page gets the error page in its
    language; everyone else (the API's clients) the problem+json."""
    if wants_page(request):
        return unmatched_page(request, exc)
    return exception_handlers[HTTPException](request, exc)


def serve_app() -> Litestar:
    """The app as ``booking serve`` runs it (uvicorn's factory): from the environment's
    settings, with the start-up heap frozen once the lifespan has started
    (booking.kernel.heap; not in tests, which build many apps in one process)."""
    settings = get_settings()
    # each of ``booking serve --workers N``'s processes is spawned afresh by uvicorn and
    # configures its own logs (the CLI's configuration stays in the parent)
    configure_logging(settings.log_level)
    return create_app(settings, freeze_heap=True)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None, *,
               close_runtime: bool | None = None, freeze_heap: bool = False) -> Litestar:
    """Build the app. Tests pass their own ``runtime`` (database, clock); ``booking serve``
    passes nothing and gets the settings from the environment. The runtime is closed with
    the app when the app built it, or when ``close_runtime`` says so."""
    owns_runtime = runtime is None if close_runtime is None else close_runtime
    if runtime is None:
        runtime = Runtime.build(settings or get_settings())
    settings = runtime.settings
    register_areas()
    setup_tracing("booking-api")
    jwt_auth = build_jwt_auth(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        load_catalogs()
        await runtime.db.open_hot_pool()
        await start_background(runtime)
        if freeze_heap:
            freeze_startup_heap()
        try:
            yield
        finally:
            await stop_background(runtime)
            if owns_runtime:
                await runtime.close()

    app = Litestar(
        route_handlers=[*CONTROLLERS, *web_handlers(settings)],
        template_config=template_config(),
        dependencies={
            "ctx": Provide(provide_ctx),
        },
        exception_handlers={**exception_handlers, NotFoundException: _not_found,
                            MethodNotAllowedException: _not_found},
        on_app_init=[jwt_auth.on_app_init],
        middleware=[metrics_middleware, DefineMiddleware(
            body_limits, json_max_bytes=settings.json_max_bytes, upload_max_bytes=settings.upload_max_bytes)],
        request_class=BoundedRequest,
        multipart_form_part_limit=MULTIPART_PART_LIMIT,
        before_send=[count_unmatched, fix_allow],
        lifespan=[lifespan, api_observability(runtime)],
        openapi_config=OpenAPIConfig(
            title="Marriage registration booking API (婚姻登记预约)",
            version=__version__,
            path="/schema",
            render_plugins=[docs_page()],
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
                }
            ),
            description="Appointments, cross-province applications and wedding events for China's marriage "
            "registration offices. Errors are application/problem+json (RFC 9457); send "
            "Accept-Language: zh-CN or en.",
        ),
        cors_config=CORSConfig(allow_origins=settings.cors_origins) if settings.cors_origins else None,
        debug=False,
        logging_config=None,  # booking.logs configures JSON logs; no second set of handlers
        # the largest body of any route; body_limits bounds each route to what it takes
        request_max_body_size=settings.upload_max_bytes + MULTIPART_OVERHEAD,
    )
    document_truthfully(app)
    app.state.allowed_methods = allowed_methods(app)
    app.state.runtime = runtime
    app.state.jwt_auth = jwt_auth
    app.state.default_locale = settings.default_locale
    return app
