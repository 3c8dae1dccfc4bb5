"""The ``booking`` command: migrate, serve, worker, demo, users create."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from booking.settings import Settings, SettingsError, get_settings


def _settings() -> Settings:
    from pydantic import ValidationError

    try:
        return get_settings()
    except SettingsError as exc:
        print(f"booking: refusing to start: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    except ValidationError as exc:
        problems = "; ".join(f"BOOKING_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
                             for e in exc.errors())
        print(f"booking: invalid settings: {problems}", file=sys.stderr)
        raise SystemExit(2) from exc


def cmd_migrate(args: argparse.Namespace) -> int:
    from booking.migrations import upgrade

    settings = _settings()
    upgrade(settings.database_url, args.revision)
    print(f"migrated {settings.database_url.split('@')[-1]} to {args.revision}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from booking.logs import configure_logging

    settings = _settings()
    if settings.is_sqlite:
        # The embedded default migrates by itself; against PostgreSQL, `booking migrate`
        # is its own deployment step.
        from booking.migrations import upgrade

        upgrade(settings.database_url)
    configure_logging(settings.log_level)
    from booking.observability.exposition import prepare_multiprocess_dir

    # several processes add up their metrics through one directory (PROMETHEUS_MULTIPROC_DIR)
    remove_metrics_dir = prepare_multiprocess_dir(args.workers)
    try:
        uvicorn.run(
            "booking.app:serve_app",
            factory=True,
            host=args.host or settings.host,
            port=args.port or settings.port,
            workers=args.workers,
            log_config=None,
            access_log=False,
            # X-Forwarded-* believed from the configured proxies only (booking.security.ratelimit
            # applies the same rule for rate limits under any ASGI server)
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=",".join(settings.trusted_proxies) or None,
        )
    finally:
        remove_metrics_dir()
    return 0


def cmd_worker(_args: argparse.Namespace) -> int:
    # One process with its own /metrics endpoint: it must not add itself to the API
    # processes' multi-process sums (read before prometheus_client is first imported).
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    from booking.background.worker import run_worker

    settings = _settings()
    if not settings.redis_url:
        print("booking worker: BOOKING_REDIS_URL is not set; without Redis, `booking serve` runs the "
              "background jobs in-process and no worker is needed.", file=sys.stderr)
        return 2
    from booking.logs import configure_logging

    configure_logging(settings.log_level)
    run_worker(settings)
    return 0


def cmd_demo(_args: argparse.Namespace) -> int:
    from booking.demo import seed_demo

    settings = _settings()
    if settings.env == "production":
        # demo accounts (an admin among them) have no place on a live registry
        print("booking demo: refusing to seed demo data with BOOKING_ENV=production", file=sys.stderr)
        return 2
    if settings.is_sqlite:
        from booking.migrations import upgrade

        upgrade(settings.database_url)
    lines = asyncio.run(seed_demo(settings))
    print("\n".join(lines))
    return 0


def cmd_users_create(args: argparse.Namespace) -> int:
    from booking.demo import create_user_cli

    settings = _settings()
    try:
        message = asyncio.run(create_user_cli(settings, args.email, args.password, args.role, args.office,
                                              args.name))
    except ValueError as exc:
        print(f"booking users create: {exc}", file=sys.stderr)
        return 2
    print(message)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="booking", description="Marriage registration booking service")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.add_argument("--revision", default="head")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("serve", help="run the HTTP API")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run the background worker (arq on Redis)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("demo", help="seed demo offices, schedules, slots and accounts with generated passwords "
                       "(safe to run twice; refused in production)")
    p.set_defaults(func=cmd_demo)

    users = sub.add_parser("users", help="manage accounts").add_subparsers(dest="users_command", required=True)
    p = users.add_parser("create", help="create an admin or clerk account")
    p.add_argument("--email", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--role", required=True, choices=["admin", "clerk"])
    p.add_argument("--office", help="office code (clerks)")
    p.add_argument("--name", default=None)
    p.set_defaults(func=cmd_users_create)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
