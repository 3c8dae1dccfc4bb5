"""Calendar feeds: create, list and revoke secret feed URLs; read a feed by its token."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from pydantic import Field

from booking.accounts.guards import requires_account
from booking.calendar import feeds
from booking.context import Context
from booking.errors import NotFound
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
    async def create(self, data: JSONBody[FeedCreate], ctx: NamedDependency[Context]) -> FeedCreatedOut:
        feed, token = await feeds.create_feed(ctx, data.kind, data.office_id)
        base = ctx.rt.settings.public_base_url.rstrip("/")
        return FeedCreatedOut(id=feed.id, kind=feed.kind, office_id=feed.office_id, created_at=feed.created_at,
                           url=f"{base}/api/v1/calendars/feeds/{token}.ics")

    @get("/", guards=[requires_account], summary="The caller's feeds (without their secret URLs)")
    async def list_mine(self, ctx: NamedDependency[Context]) -> FeedList:
        return FeedList(data=[FeedOut.model_validate(f) for f in await feeds.list_feeds(ctx)])

    @delete("/{feed_id:uuid}", guards=[requires_account], status_code=204, summary="Revoke a feed")
    async def revoke(self, feed_id: FromPath[uuid.UUID], ctx: NamedDependency[Context]) -> None:
        await feeds.revoke_feed(ctx, feed_id)

    @get("/{feed_file:str}", exclude_from_auth=True, opt={"media_types": ["text/calendar"]}, summary="A feed, by its secret URL (`<token>.ics`)")
    async def read(self, feed_file: FromPath[str], ctx: NamedDependency[Context]) -> Response[bytes]:
        token, suffix = feed_file[:-4], feed_file[-4:]
        if suffix != ".ics" or not token:
            raise NotFound()
        body = await feeds.render_feed(ctx, token)
        return Response(body, media_type="text/calendar; method=PUBLISH",
                        headers={"Cache-Control": "private, max-age=300"})
