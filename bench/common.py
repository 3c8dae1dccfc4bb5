"""Shared plumbing of the benchmarks: a throwaway database, the real server in its own
process, a lean HTTP/1.1 keep-alive client, and percentiles.

The benchmarks are run by hand against PostgreSQL; they print figures and assert nothing
about speed. Each creates its own database ``booking_bench_<random>`` and drops it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get("BOOKING_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
# the bench server's /metrics wants this token (BOOKING_METRICS_TOKEN)
METRICS_TOKEN = secrets.token_urlsafe(24)

from booking.parties.identity import check_character  # after the path is set

SH = ZoneInfo("Asia/Shanghai")
_ids = itertools.count()


def resident_id(sex: str) -> str:
    n = next(_ids)
    birth = date(1975, 1, 1) + timedelta(days=n % 7000)
    sequence = (n // 7000) % 499 * 2 + (1 if sex == "M" else 2)
    first17 = f"440106{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def parties() -> list[dict[str, str]]:
    n = next(_ids)
    return [
        {"name": "张伟", "id_type": "resident_id", "id_number": resident_id("M"), "phone": f"139{n:08d}",
         "hukou_province": "44"},
        {"name": "李娜", "id_type": "resident_id", "id_number": resident_id("F"), "phone": f"138{n:08d}",
         "hukou_province": "44"},
    ]


async def seed_office(dsn: str, release_local: datetime, window: int) -> int:
    """An office releasing each day ``window`` days ahead at ``release_local``'s time."""
    conn = await asyncpg.connect(dsn)
    try:
        rules = {"booking_window_days": window, "release_time": release_local.time().isoformat(timespec="seconds"),
                 "cutoff_days_before": 1, "cutoff_time": "15:00:00"}
        return int(await conn.fetchval(
            """INSERT INTO office (code, name_zh, name_en, province_code, city, address_zh, address_en, timezone,
                                   services, rules, is_active, created_at, updated_at)
               VALUES ('BENCH', '压测登记处', 'Bench Registry', '44', '广州', '广州市', 'Guangzhou', 'Asia/Shanghai',
                       '["marriage_registration"]', $1::json, true, now(), now()) RETURNING id""",
            json.dumps(rules)))
    finally:
        await conn.close()


async def seed_slots(dsn: str, office_id: int, day: date, count: int, capacity: int,
                     minutes: int = 10) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = []
        for i in range(count):
            start = datetime.combine(day, datetime.min.time(), tzinfo=SH) + timedelta(hours=6, minutes=minutes * i)
            rows.append((office_id, day, start.astimezone(UTC), (start + timedelta(minutes=minutes)).astimezone(UTC),
                         capacity))
        await conn.executemany(
            "INSERT INTO slot (office_id, service, local_date, starts_at, ends_at, capacity, booked, status, "
            "created_at) VALUES ($1, 'marriage_registration', $2, $3, $4, $5, 0, 'open', now())", rows)
        return [r["id"] for r in await conn.fetch(
            "SELECT id FROM slot WHERE office_id = $1 AND local_date = $2 ORDER BY id", office_id, day)]
    finally:
        await conn.close()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def latency_line(latencies_s: list[float]) -> str:
    ms = [v * 1000 for v in latencies_s]
    return (f"p50 {percentile(ms, 50):.1f} ms, p95 {percentile(ms, 95):.1f} ms, "
            f"p99 {percentile(ms, 99):.1f} ms, max {max(ms):.1f} ms")


@contextlib.asynccontextmanager
async def bench_database() -> AsyncIterator[tuple[str, str]]:
    """(asyncpg DSN, SQLAlchemy URL) of a fresh database migrated by Alembic."""
    from booking.migrations import upgrade_async

    name = f"booking_bench_{secrets.token_hex(4)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    await admin(f'CREATE DATABASE "{name}"')
    admin_url = urllib.parse.urlsplit(PG_ADMIN)  # may carry a socket directory: ?host=/var/run/postgresql
    dsn = urllib.parse.urlunsplit(admin_url._replace(path=f"/{name}"))
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        await upgrade_async(url)
        yield dsn, url
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_secrets() -> dict[str, str]:
    return {"BOOKING_SECRET_KEY": secrets.token_urlsafe(48),
            "BOOKING_DATA_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "BOOKING_METRICS_TOKEN": METRICS_TOKEN}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SERVER_PIDS: list[int] = []  # the servers running now (their processes and children count)


def server_cpu() -> float:
    """CPU seconds used so far by the running servers' processes and their children
    (uvicorn's workers), from /proc."""
    parents = set(SERVER_PIDS)
    pids = set(parents)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) in parents:
                pids.add(int(entry))
    return sum(c for pid in pids if (c := _backend_cpu(pid)) is not None)


@contextlib.contextmanager
def running_server(env: dict[str, str], workers: int = 1, app: str | None = None) -> Iterator[str]:
    """``booking serve`` in its own process (the real ASGI server), until the block ends;
    ``app``: another ASGI app (``module:attribute`` under bench/), served by uvicorn as
    ``booking serve`` serves the service (uvloop, httptools, no access log)."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKING_")}
    full_env.update(env)
    full_env.setdefault("BOOKING_LOG_LEVEL", "WARNING")
    command = [sys.executable, "-m", "booking.cli", "serve", "--port", str(port), "--workers", str(workers)]
    if app is not None:
        command = [sys.executable, "-m", "uvicorn", app, "--app-dir", "bench", "--host", "127.0.0.1", "--port",
                   str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    if os.environ.get("BENCH_PYSPY"):  # e.g. BENCH_PYSPY=/tmp/server.txt: collapsed stacks of the server
        command = ["py-spy", "record", "--format", "raw", "-r", "400", "-o", os.environ["BENCH_PYSPY"],
                   "--", *command]
    process = subprocess.Popen(
        command,
        env=full_env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    SERVER_PIDS.append(process.pid)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"server exited: {process.stderr.read() if process.stderr else ''}")
                time.sleep(0.1)
        time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        SERVER_PIDS.remove(process.pid)


WORKER_PIDS: list[int] = []  # the arq workers running now


def worker_cpu() -> float:
    """CPU seconds used so far by the running arq workers, from /proc."""
    return sum(c for pid in WORKER_PIDS if (c := _backend_cpu(pid)) is not None)


@contextlib.contextmanager
def running_worker(env: dict[str, str]) -> Iterator[int]:
    """``booking worker`` (arq on Redis) in its own process, until the block ends."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKING_")}
    full_env.update(env)
    full_env.setdefault("BOOKING_LOG_LEVEL", "WARNING")
    process = subprocess.Popen([sys.executable, "-m", "booking.cli", "worker"], env=full_env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    WORKER_PIDS.append(process.pid)
    try:
        time.sleep(1.0)
        if process.poll() is not None:
            raise RuntimeError(f"worker exited: {process.stderr.read() if process.stderr else ''}")
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        WORKER_PIDS.remove(process.pid)


class SmtpCounter:
    """A real SMTP server (aiosmtpd, in a thread of the bench) that counts the messages it
    receives by their dedupe key (``X-Booking-Dedupe-Key``: the outbox row's id)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: Counter[str] = Counter()
        self._controller: Any = None

    def __enter__(self) -> SmtpCounter:
        from aiosmtpd.controller import Controller

        counter = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001, ANN201
                head = envelope.content.split(b"\r\n\r\n", 1)[0]
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"x-booking-dedupe-key:"):
                        counter.received[line.split(b":", 1)[1].strip().decode()] += 1
                return "250 Message accepted"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


async def outbox_counts(dsn: str) -> dict[str, int]:
    """The outbox's rows by state, now."""
    conn = await asyncpg.connect(dsn)
    try:
        return dict(await conn.fetch("SELECT state, count(*) FROM notification GROUP BY state"))
    finally:
        await conn.close()


async def outbox_settled(dsn: str, timeout: float = 300.0) -> dict[str, int]:
    """Wait until no notification is pending (each sent, dropped or failed); the counts by state."""
    deadline = time.monotonic() + timeout
    conn = await asyncpg.connect(dsn)
    try:
        while True:
            found = dict(await conn.fetch("SELECT state, count(*) FROM notification GROUP BY state"))
            if not found.get("pending") or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


def request_bytes(host: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> bytes:
    """One HTTP/1.1 request as sent on the wire."""
    payload = b"" if body is None else json.dumps(body).encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(payload)}"]
    if body is not None:
        lines.append("Content-Type: application/json")
    for key, value in (headers or {}).items():
        lines.append(f"{key}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request built before the moment (each couple's phone builds its own; the bench's
    one process should not spend the moment building thousands of bodies)."""
    raw: bytes


class RawClient:
    """One keep-alive HTTP/1.1 connection; far less client CPU per request than httpx, so
    the load generator does not steal the server's share of a 2-core machine."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, body: Any = None,
                      headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        try:
            return await self._request(method, path, body, headers)
        except (ConnectionError, IndexError, asyncio.IncompleteReadError):
            # the server closed an idle keep-alive connection: reconnect once
            await self.close()
            self.reader = self.writer = None
            return await self._request(method, path, body, headers)

    async def _request(self, method: str, path: str, body: Any,
                       headers: dict[str, str] | None) -> tuple[int, bytes]:
        if self.writer is None:
            await self._connect()
        assert self.reader is not None and self.writer is not None
        if isinstance(body, Prepared):
            self.writer.write(body.raw)
        else:
            self.writer.write(request_bytes(self.host, method, path, body, headers))
        await self.writer.drain()
        # the whole head at once: one read, not one per header line
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        length = 0
        chunked = False
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
            elif name.lower() == "transfer-encoding" and "chunked" in value:
                chunked = True
        if chunked:
            data = b""
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                if size == 0:
                    await self.reader.readline()
                    break
                data += await self.reader.readexactly(size)
                await self.reader.readline()
            return status, data
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()


@contextlib.asynccontextmanager
async def client_pool(address: str, size: int) -> AsyncIterator[asyncio.Queue[RawClient]]:
    host, port = address.split(":")
    pool: asyncio.Queue[RawClient] = asyncio.Queue()
    clients = [RawClient(host, int(port)) for _ in range(size)]
    for c in clients:
        pool.put_nowait(c)
    try:
        yield pool
    finally:
        for c in clients:
            await c.close()


@dataclass
class Account:
    id: uuid.UUID
    token: str


async def make_couple_accounts(dsn: str, secret_key: str, count: int) -> list[Account]:
    """Accounts straight into the database, tokens minted with the server's key."""
    from booking.accounts.tokens import build_jwt_auth, issue_token
    from booking.settings import Settings

    settings = Settings(secret_key=secret_key, data_key=base64.b64encode(b"x" * 32).decode(),
                        access_token_ttl_seconds=3600)
    auth = build_jwt_auth(settings)
    ids = [uuid.uuid4() for _ in range(count)]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany(
            "INSERT INTO user_account (id, email, password_hash, name, locale, role, is_active, failed_logins, "
            "created_at) VALUES ($1, $2, 'x', 'bench', 'zh_Hans_CN', 'couple', true, 0, now())",
            [(i, f"bench-{i.hex}@example.com") for i in ids])
    finally:
        await conn.close()
    return [Account(i, issue_token(auth, settings, subject=i, role="couple", office_id=None)) for i in ids]


def primitive_tables(prefix: str) -> str:
    """The primitive's two tables, ``<prefix>_slot`` and ``<prefix>_booking``, made afresh."""
    return f"""
        DROP TABLE IF EXISTS {prefix}_booking; DROP TABLE IF EXISTS {prefix}_slot;
        CREATE TABLE {prefix}_slot (id bigint PRIMARY KEY, capacity int NOT NULL, booked int NOT NULL DEFAULT 0,
                                    CHECK (booked BETWEEN 0 AND capacity));
        CREATE TABLE {prefix}_booking (id uuid PRIMARY KEY, slot_id bigint NOT NULL REFERENCES {prefix}_slot(id),
                                       created_at timestamptz NOT NULL DEFAULT now());
    """


def primitive_step(prefix: str, slots: int) -> Callable[[Any, int], Awaitable[None]]:
    """The primitive's transaction ``n`` on ``<prefix>_slot``/``<prefix>_booking``: the
    conditional UPDATE of slot ``n % slots + 1`` and the INSERT of a booking."""

    async def step(connection: Any, n: int) -> None:
        slot = await connection.fetchval(f"UPDATE {prefix}_slot SET booked = booked + 1 "
                                         "WHERE id = $1 AND booked < capacity RETURNING id", n % slots + 1)
        await connection.execute(f"INSERT INTO {prefix}_booking (id, slot_id) VALUES ($1, $2)", uuid.uuid4(), slot)

    return step


async def concurrently(pool: Any, transactions: int, step: Callable[[Any, int], Awaitable[None]]) -> float:
    """``transactions`` transactions, each ``step(connection, n)`` in one transaction, over
    as many workers as the pool has connections; returns the seconds they took."""
    numbers = iter(range(transactions))

    async def worker() -> None:
        for n in numbers:
            async with pool.acquire() as c, c.transaction():
                await step(c, n)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(pool.get_max_size())))
    return time.perf_counter() - started


async def raw_booking_primitive(dsn: str, transactions: int, connections: int = 32,
                                slots: int = 1000) -> float:
    """The baseline of DESIGN.md section 8: a conditional UPDATE and an INSERT in one
    transaction through plain asyncpg, over ``slots`` slots; returns transactions/s."""
    conn = await asyncpg.connect(dsn)
    await conn.execute(primitive_tables("bench"))
    await conn.execute("INSERT INTO bench_slot (id, capacity) SELECT g, 1000000 FROM generate_series(1, $1) g",
                       slots)
    await conn.close()
    pool = await asyncpg.create_pool(dsn, min_size=connections, max_size=connections)
    before = await pg_snapshot(dsn)
    elapsed = await concurrently(pool, transactions, primitive_step("bench", slots))
    print(f"raw primitive, {await pg_cost_line(dsn, before, transactions, 'transaction')}")
    await pool.close()
    return transactions / elapsed


def days(n: int) -> timedelta:
    return timedelta(days=n)


# --- outcomes: what the clients saw against what /metrics counted -------------------------


def answer_outcome(status: int, body: bytes) -> str:
    """One answer's outcome, classified exactly as the server's metrics classify it."""
    from booking.observability.outcomes import classify

    try:
        document = json.loads(body) if body else {}
    except ValueError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    return classify(status, document.get("status"), document.get("code"))


async def metrics_outcomes(address: str, kind: str = "appointment") -> Counter[str]:
    """``booking_outcomes_total`` of the server (summed over its processes), by outcome."""
    from prometheus_client.parser import text_string_to_metric_families

    host, port = address.split(":")
    client = RawClient(host, int(port))
    try:
        status, body = await client.request("GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    finally:
        await client.close()
    if status != 200:
        raise RuntimeError(f"/metrics answered {status}")
    counts: Counter[str] = Counter()
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == "booking_outcomes_total" and sample.labels.get("kind") == kind:
                counts[sample.labels["outcome"]] += int(sample.value)
    return counts


def print_outcomes(seen: Counter[str], before: Counter[str], after: Counter[str]) -> None:
    """The clients' counts and the server's (the metrics' difference over the phase), side by side."""
    counted = Counter({k: after[k] - before[k] for k in after if after[k] - before[k]})

    def line(counts: Counter[str]) -> str:
        return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "none"

    print(f"outcomes seen by the clients: {line(seen)}")
    print(f"outcomes counted in /metrics: {line(counted)} ({'the same' if counted == seen else 'DIFFERENT'})")


# --- what PostgreSQL did: rows written and backend CPU, over a phase ----------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _backend_cpu(pid: int) -> float | None:
    """User + system CPU seconds of one PostgreSQL backend (same machine), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK


@dataclass
class PgSnapshot:
    rows: dict[str, tuple[int, int, int]]  # table: (inserted, updated, deleted)
    cpu: dict[int, float]  # backend pid: CPU seconds
    hot: dict[str, int]  # table: updates that were HOT (no index entry written)
    at: float


async def pg_snapshot(dsn: str) -> PgSnapshot:
    """Rows written per table (pg_stat_user_tables) and the CPU of every backend of the
    database. The statistics are sent by backends at the end of transactions, with a
    short delay: take the second snapshot a moment after the phase ends."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        stats = await conn.fetch(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, n_tup_hot_upd FROM pg_stat_user_tables")
        rows = {r["relname"]: (r["n_tup_ins"], r["n_tup_upd"], r["n_tup_del"]) for r in stats}
        hot = {r["relname"]: r["n_tup_hot_upd"] for r in stats}
        pids = [r["pid"] for r in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    finally:
        await conn.close()
    cpu = {pid: c for pid in pids if (c := _backend_cpu(pid)) is not None}
    return PgSnapshot(rows, cpu, hot, time.time())


async def pg_cost_line(dsn: str, before: PgSnapshot, operations: int, label: str = "booking") -> str:
    """Rows written and PostgreSQL backend CPU per operation between ``before`` and now.

    The CPU is read at once, at the phase's end; the rows 11 s later (idle backends report
    their counters within 10 s, PostgreSQL 15). Updates of ``notification`` in between are
    deliveries (in-process, or by the workers), not the operation's: shown apart."""
    cpu_now = await pg_snapshot(dsn)
    await asyncio.sleep(11.0)
    after = await pg_snapshot(dsn)
    written: dict[str, int] = {}
    for table, (ins, upd, dele) in after.rows.items():
        b = before.rows.get(table, (0, 0, 0))
        if table == "notification":
            written[table] = (ins - b[0]) + (dele - b[2])
            written["(notification updates: deliveries)"] = upd - b[1]
            continue
        n = (ins - b[0]) + (upd - b[1]) + (dele - b[2])
        if n:
            written[table] = n
    # the operation's updates that were HOT (no index entry written; one that is not HOT
    # writes an entry in each of the table's indexes), by table: (HOT, all)
    hot: dict[str, tuple[int, int]] = {}
    for table, (_, upd, _) in after.rows.items():
        updated = upd - before.rows.get(table, (0, 0, 0))[1]
        if table != "notification" and updated >= operations * 0.005:
            hot[table] = (after.hot.get(table, 0) - before.hot.get(table, 0), updated)
    cpu = sum(c - before.cpu.get(pid, 0.0) for pid, c in cpu_now.cpu.items())
    deliveries = written.pop("(notification updates: deliveries)", 0)
    per = {t: n / operations for t, n in sorted(written.items()) if n / operations >= 0.005}
    total = sum(written.values()) / operations
    detail = ", ".join(f"{t} {v:.2f}" for t, v in per.items())
    return (f"per {label}: {total:.2f} rows written ({detail}; and {deliveries / operations:.2f} "
            f"notification updates by deliveries); HOT updates: "
            f"{', '.join(f'{t} {h / u:.0%}' for t, (h, u) in sorted(hot.items())) or 'none'}; "
            f"PostgreSQL backend CPU {cpu / operations * 1000:.2f} ms")


_cpu_times_at_last_line: list[int] | None = None


def load_line() -> str:
    """The load average; from the second call on, also the share of the machine's CPU time
    the hypervisor took since the previous call (steal: on a shared VM it comes in bursts,
    and a run with a few percent of it is not comparable with one without)."""
    global _cpu_times_at_last_line
    with open("/proc/loadavg") as f:
        line = "load average " + " ".join(f.read().split()[:3])
    with open("/proc/stat") as f:
        # user nice system idle iowait irq softirq steal (guest time is counted in user)
        times = [int(t) for t in f.readline().split()[1:9]]
    if _cpu_times_at_last_line is not None:
        delta = [now - then for now, then in zip(times, _cpu_times_at_last_line, strict=True)]
        line += f"; CPU stolen by the hypervisor since the line above: {100 * delta[7] / max(1, sum(delta)):.1f}%"
    _cpu_times_at_last_line = times
    return line
