"""Command-line interface: ``flask --app wsgi setup | db … | accounts … | demo …``."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from exchange.db import db

db_cli = AppGroup("db", help="Database migrations (Alembic).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    from exchange.migrate import upgrade

    with db.engine.begin() as connection:
        upgrade(connection, revision)
    click.echo(f"database at {revision}: {db.engine.url.render_as_string(hide_password=True)}")


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Autogenerate a new revision from the models (for developers)."""
    from alembic import command

    from exchange.migrate import alembic_config

    with db.engine.begin() as connection:
        command.revision(alembic_config(connection), message=message, autogenerate=True)


def app_role_grants(role: str) -> list[str]:
    """PostgreSQL grants for the role the running application connects as.

    The tables belong to the role that runs migrations; the application role may read and write
    the registry tables but may only SELECT and INSERT ledger rows (no UPDATE, DELETE, TRUNCATE).
    """
    from exchange.models import all_metadata
    from ledger.storage import APPEND_ONLY_TABLES

    quoted = '"' + role.replace('"', '""') + '"'
    tables = sorted(t.name for metadata in all_metadata() for t in metadata.sorted_tables)
    statements = [f"GRANT USAGE ON SCHEMA public TO {quoted}"]
    for table in tables:
        if table in APPEND_ONLY_TABLES:
            statements.append(f"REVOKE ALL ON {table} FROM {quoted}")
            statements.append(f"GRANT SELECT, INSERT ON {table} TO {quoted}")
        else:
            statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {quoted}")
    statements.append(f"GRANT SELECT ON alembic_version TO {quoted}")
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
    return statements


@db_cli.command("app-role-grants")
@click.argument("role")
def db_app_role_grants(role: str) -> None:
    """Print the PostgreSQL GRANTs for the application role ROLE (run them as the tables' owner)."""
    for statement in app_role_grants(role):
        click.echo(statement + ";")


@click.command("setup")
@with_appcontext
def setup() -> None:
    """Prepare the instance folder: migrate the database and create missing keys; build the PDFs' compact fonts if
    missing. Safe to run again."""
    from exchange.keys import ensure_keys
    from exchange.migrate import upgrade
    from exchange.pdf import ensure_fonts

    with db.engine.begin() as connection:
        upgrade(connection)
    for line in ensure_keys(current_app) + ensure_fonts():
        click.echo(line)
    click.echo(f"instance folder: {current_app.instance_path}")


accounts_cli = AppGroup("accounts", help="Accounts and API keys.")


@accounts_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["village", "township", "county", "bank", "bidder", "admin"]))
@click.option("--name", "display_name", required=True, help="Display name.")
@click.option("--division", "division_code", help="Jurisdiction code (staff roles).")
@click.option("--institution", help="Bank name (bank role).")
@click.password_option()
def accounts_create(username, role, display_name, division_code, institution, password) -> None:
    """Create an account."""
    from exchange.accounts.models import Role
    from exchange.accounts.operations import AccountError, create_account
    from exchange.audit import operations as audit
    from exchange.divisions.models import Division

    division = None
    if division_code:
        division = db.session.scalar(select(Division).where(Division.code == division_code))
        if division is None:
            raise click.BadParameter(f"行政区划代码 {division_code} 不存在 (unknown division code)", param_hint="--division")
    try:
        account = create_account(username, password, Role(role), display_name, division, institution)
    except AccountError as error:
        raise click.UsageError(f"{error.code} ({error.field}): {error.message}") from None
    audit.record("account.create", "account", account.id, detail={"role": role, "via": "cli"})
    db.session.commit()
    click.echo(f"created {account.username} ({role})")


@accounts_cli.command("api-key")
@click.argument("username")
@click.argument("name")
def accounts_api_key(username: str, name: str) -> None:
    """Create an API key for USERNAME and print it once."""
    from exchange.accounts.models import Account
    from exchange.accounts.operations import create_api_key

    account = db.session.scalar(select(Account).where(Account.username == username))
    if account is None:
        raise click.BadParameter(f"no account {username}", param_hint="USERNAME")
    _key, secret = create_api_key(account, name)
    db.session.commit()
    click.echo(secret)


def init_app(app: Flask) -> None:
    from exchange.demo.cli import demo_cli
    from exchange.certificates.cli import certificates_cli
    from exchange.ledger_app.cli import ledger_cli
    from exchange.registry.cli import registry_cli
    from exchange.transfers.cli import exchange_cli

    app.cli.add_command(db_cli)
    app.cli.add_command(setup)
    app.cli.add_command(accounts_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(registry_cli)
    app.cli.add_command(certificates_cli)
    app.cli.add_command(exchange_cli)
