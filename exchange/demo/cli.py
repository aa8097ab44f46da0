"""``flask --app wsgi demo load|accounts``."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from exchange.db import db
from exchange.demo import data

demo_cli = AppGroup("demo", help="The demo dataset (开江县, synthetic people and land).")


def print_accounts() -> None:
    click.echo(f"demo accounts (password for all: {data.DEMO_PASSWORD}):")
    for username, role, name, _division, _institution in data.DEMO_ACCOUNTS:
        click.echo(f"  {username:<10} {role:<9} {name}")


@demo_cli.command("load")
def load() -> None:
    """Load the demo dataset into an empty database; does nothing if it is already there."""
    from exchange.demo.operations import is_loaded, load_demo

    if is_loaded():
        click.echo("demo data already loaded; nothing changed")
    else:
        from exchange.ledger_app.service import publish_checkpoint

        from exchange.demo.books import load_books_demo

        counts = load_demo()
        counts.update(load_books_demo())
        from exchange.demo.certs import load_certificates_demo

        counts.update(load_certificates_demo())
        from exchange.demo.exchange import load_exchange_demo

        counts.update(load_exchange_demo())
        from exchange.demo.collateral import load_collateral_demo

        counts.update(load_collateral_demo())
        from exchange.collectives import share_pledges

        counts.update(share_pledges.demo())
        db.session.commit()
        checkpoint = publish_checkpoint()
        db.session.commit()
        counts["checkpoint_size"] = checkpoint.tree_size
        click.echo("demo data loaded: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print_accounts()


@demo_cli.command("accounts")
def accounts() -> None:
    """Print the demo accounts."""
    print_accounts()
