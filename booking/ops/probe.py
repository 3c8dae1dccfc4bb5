"""The worker's health check, as the deploy files run it: ``python -m booking.ops.probe worker``.

Each worker process beats every 15 s in the sorted set ``booking:worker:heartbeats`` (member
``<host>:<pid>``, scored by the time; ``booking.background.heartbeat``). A container or pod has a
host name of its own, so "a member with this host name beat in the last 60 s" means "the worker
in this container ran its heartbeat in the last minute": a hung or dead worker fails its own
check, whatever its neighbours do.
Reads only ``BOOKING_REDIS_URL``: the check needs no database and none of the keys.
"""

from __future__ import annotations

import os
import socket
import sys

import redis

from booking.background.heartbeat import alive_on_host


def worker_alive(redis_url: str, host: str | None = None) -> bool:
    client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        return alive_on_host(client, host or socket.gethostname())
    finally:
        client.close()


def main(argv: list[str]) -> int:
    if argv != ["worker"]:
        print("usage: python -m booking.ops.probe worker", file=sys.stderr)
        return 2
    url = os.environ.get("BOOKING_REDIS_URL")
    if not url:
        print("BOOKING_REDIS_URL is not set", file=sys.stderr)
        return 1
    try:
        alive = worker_alive(url)
    except redis.RedisError as exc:
        print(f"redis: {type(exc).__name__}", file=sys.stderr)
        return 1
    if not alive:
        print(f"no heartbeat from a worker on {socket.gethostname()} in the last minute", file=sys.stderr)
    return 0 if alive else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
