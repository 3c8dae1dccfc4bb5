"""Calendar feeds: create, list and revoke secret feed URLs; read a feed by its token."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from booking.accounts.guards import requires_account
from booking.accounts.principal import Principal
from booking.calendar import feeds
from booking.errors import NotFound
from booking.runtime import Runtime
from booking.schemas import Output, Schema


class FeedCreate(Schema):
    kind: Literal["couple", "roster"]
    office_id: Annotated[int, Field(ge=1)] | None = None


class FeedOut(Output):
    id: uuid.UUID
    kind: str
    office_id: int | None
    created_at: datetime


class FeedCreatedOut(FeedOut):
    url: str = Field(description="secret subscription URL; shown only now")


class FeedList(Output):
    data: list[FeedOut]


class CalendarFeedController(Controller):
    path = "/api/v1/calendars/feeds"
    tags = ["calendars"]

    @post("/", guards=[requires_account], status_code=201, summary="Create a secret calendar feed URL",
          description="`couple`: the caller's appointments. `roster`: an office's appointments, for its clerks "
          "(codes and services only). The URL is returned once; revoke it with DELETE.")
    async def create(self, data: JSONBody[FeedCreate], principal: NamedDependency[Principal],
                     session: NamedDependency[AsyncSession], runtime: NamedDependency[Runtime]) -> FeedCreatedOut:
        feed, token = await feeds.create_feed(session, principal, data.kind, data.office_id, runtime.clock.now())
        base = runtime.settings.public_base_url.rstrip("/")
        return FeedCreatedOut(id=feed.id, kind=feed.kind, office_id=feed.office_id, created_at=feed.created_at,
                           url=f"{base}/api/v1/calendars/feeds/{token}.ics")

    @get("/", guards=[requires_account], summary="The caller's feeds (without their secret URLs)")
    async def list_mine(self, principal: NamedDependency[Principal],
                        session: NamedDependency[AsyncSession]) -> FeedList:
        return FeedList(data=[FeedOut.model_validate(f) for f in await feeds.list_feeds(session, principal)])

    @delete("/{feed_id:uuid}", guards=[requires_account], status_code=204, summary="Revoke a feed")
    async def revoke(self, feed_id: FromPath[uuid.UUID], principal: NamedDependency[Principal],
                     session: NamedDependency[AsyncSession], runtime: NamedDependency[Runtime]) -> None:
        await feeds.revoke_feed(session, principal, feed_id, runtime.clock.now())

    @get("/{feed_file:str}", exclude_from_auth=True, opt={"media_types": ["text/calendar"]}, summary="A feed, by its secret URL (`<token>.ics`)")
    async def read(self, feed_file: FromPath[str], session: NamedDependency[AsyncSession],
                   runtime: NamedDependency[Runtime], locale: NamedDependency[str]) -> Response[bytes]:
        token, suffix = feed_file[:-4], feed_file[-4:]
        if suffix != ".ics" or not token:
            raise NotFound()
        body = await feeds.render_feed(runtime, session, token, locale)
        return Response(body, media_type="text/calendar; method=PUBLISH",
                        headers={"Cache-Control": "private, max-age=300"})
