"""Every Prometheus metric the service records, and the small helpers other code calls.

Metrics are process-wide (``prometheus_client``'s default registry). When
``PROMETHEUS_MULTIPROC_DIR`` is set before this module is first imported, every value lives
in a memory-mapped file of that directory and ``/metrics`` sums the files of all the
processes (``exposition.py``): that is how several API processes on one host report as one.

Label values are always from a fixed, small set: a route *template* (``unmatched`` when no
route matched), an HTTP method, a status code, an outcome or channel name from the lists
below. Never a raw path, an id, a booking code, an e-mail address or a phone number.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

disable_created_metrics()  # the *_created series only double the exposition

# Resolves 10-500 ms finely (the booking targets are p99 <= 100 ms, then 50 ms; the alert is
# at 500 ms), with a tail up to 10 s for a stuck request.
LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0,
                   10.0)
# Jobs: arq's poll makes tens of milliseconds normal; a sweep may take seconds.
JOB_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

UNMATCHED_ROUTE = "unmatched"  # every path no route matched, whatever it was
NO_ROUTE = "none"  # a refusal outside an HTTP request

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "booking_http_requests", "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"])
HTTP_REQUEST_SECONDS = Histogram(
    "booking_http_request_duration_seconds", "Time from the request reaching the app to its answer",
    ["route", "method"], buckets=LATENCY_BUCKETS)

# kind: appointment, signup, ballot_entry (see outcomes.OUTCOME_ROUTES)
OUTCOMES = Counter(
    "booking_outcomes", "Answers to booking, sign-up and ballot entry requests, by outcome",
    ["kind", "outcome"])

DELIVERIES = Counter(
    "booking_notification_deliveries", "Outbox rows whose delivery attempt ended, by channel and result "
    "(sent, retry, failed = no attempts left, dropped = its moment had passed or its subject is gone)",
    ["channel", "result"])

JOB_QUEUE_SECONDS = Histogram(
    "booking_job_queue_latency_seconds", "Time from a job being due (enqueued, or its deferred time) to its start",
    ["function"], buckets=JOB_BUCKETS)
JOB_SECONDS = Histogram(
    "booking_job_duration_seconds", "Time a job ran", ["function"], buckets=JOB_BUCKETS)
JOBS = Counter("booking_jobs", "Jobs finished, by function and result (ok, error)", ["function", "result"])

RATE_LIMIT_REFUSALS = Counter(
    "booking_rate_limit_refusals", "Requests or sends refused by a rate limit, by limit name and route template "
    "(route 'none' outside a request)", ["limit", "route"])

# Per process, summed over the live processes of a host (dead ones are forgotten at scrape).
DB_POOL_CONNECTIONS = Gauge(
    "booking_db_pool_connections", "Database connections of the process pools: open, or in use",
    ["pool", "state"], multiprocess_mode="livesum")
DB_POOL_LIMIT = Gauge(
    "booking_db_pool_limit", "The most connections a pool may open", ["pool"], multiprocess_mode="livesum")


@lru_cache(maxsize=4096)
def _request_counter(route: str, method: str, status: int) -> Any:
    return HTTP_REQUESTS.labels(route, method, str(status))


@lru_cache(maxsize=1024)
def _request_histogram(route: str, method: str) -> Any:
    return HTTP_REQUEST_SECONDS.labels(route, method)


@lru_cache(maxsize=256)
def _outcome_counter(kind: str, outcome: str) -> Any:
    return OUTCOMES.labels(kind, outcome)


def count_outcome(kind: str, outcome: str) -> None:
    _outcome_counter(kind, outcome).inc()


def method_label(method: str | None) -> str:
    return method if method in HTTP_METHODS else "other"


def observe_request(route: str, method: str, status: int, seconds: float | None) -> None:
    """One answered request. The label children are cached: no lookup on the hot path."""
    _request_counter(route, method, status).inc()
    if seconds is not None:
        _request_histogram(route, method).observe(seconds)


def count_rate_limit_refusal(limit: str, route: str = NO_ROUTE) -> None:
    """Call where a rate limit refuses something that is not answered with a 429 (e.g. an
    SMS held back by its number's hourly limit). A 429 answer is counted by the HTTP layer
    (name its limit with ``outcomes.name_rate_limit``); do not count it twice. ``limit`` is a
    fixed name such as ``login`` or ``sms_per_number``, never a key or an address."""
    RATE_LIMIT_REFUSALS.labels(limit, route).inc()


def count_delivery(channel: str, result: str) -> None:
    """An outbox row's delivery attempt ended (``channel`` email or sms)."""
    DELIVERIES.labels(channel, result).inc()


__all__ = [
    "DB_POOL_CONNECTIONS",
    "DB_POOL_LIMIT",
    "DELIVERIES",
    "HTTP_REQUESTS",
    "HTTP_REQUEST_SECONDS",
    "JOBS",
    "JOB_QUEUE_SECONDS",
    "JOB_SECONDS",
    "OUTCOMES",
    "RATE_LIMIT_REFUSALS",
    "count_delivery",
    "count_outcome",
    "count_rate_limit_refusal",
    "observe_request",
]
