"""``flask --app wsgi exchange tick``: apply every deadline that has passed (end of notice, end of auction, end of
the members' priority window, end of the objection window). Idempotent: run it from cron every minute."""
from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from exchange.db import db

exchange_cli = AppGroup("exchange", help="The exchange workflow's scheduled steps.")


@exchange_cli.command("tick")
@click.option("--at", "at", default=None, help="Act as if it were this ISO time with zone (testing and catch-up).")
def tick(at: str | None) -> None:
    """Move every listing whose deadline has passed; prints what moved."""
    from exchange.transfers.operations import tick as run

    when = None
    if at:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            raise click.BadParameter("use an ISO time with zone, e.g. 2026-12-08T16:00:00+00:00", param_hint="--at")
        if when.tzinfo is None:
            raise click.BadParameter("give the time zone, e.g. +08:00", param_hint="--at")
    moved = run(when)
    db.session.commit()
    click.echo("moved: " + (", ".join(f"{step} {count}" for step, count in sorted(moved.items())) or "nothing"))
