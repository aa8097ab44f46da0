"""``flask --app wsgi certificates list | render NUMBER -o FILE.pdf | trust-bundle -o DIR``."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from exchange.certificates.models import KIND_TITLES, Certificate
from exchange.certificates.operations import by_number, render_certificate
from exchange.db import db
from exchange.errors import DomainError

certificates_cli = AppGroup("certificates", help="Certificates: list, render to PDF, export the trust bundle for banks.")


@certificates_cli.command("list")
def list_certificates() -> None:
    """One line per certificate: number, kind, subject, date."""
    for c in db.session.scalars(select(Certificate).order_by(Certificate.id)):
        click.echo(f"{c.number}\t{c.kind.value}\t{c.right.number}\t{c.issued_at.date().isoformat()}\t{KIND_TITLES[c.kind][0]}")


@certificates_cli.command("render")
@click.argument("number")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def render(number: str, output: Path) -> None:
    """Write certificate NUMBER as a signed PDF to FILE."""
    try:
        pdf = render_certificate(by_number(number))
    except DomainError as error:
        raise click.ClickException(error.message_zh + " / " + error.message_en) from None
    db.session.commit()
    output.write_bytes(pdf)
    click.echo(f"{output} ({len(pdf)} bytes)")


@certificates_cli.command("trust-bundle")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True)
def trust_bundle(output: Path) -> None:
    """What a bank installs: the log's verifier key, the witness keys and policy, the CA root (PEM)."""
    from exchange.certificates.operations import trust_bundle_files

    output.mkdir(parents=True, exist_ok=True)
    for name, content in trust_bundle_files().items():
        (output / name).write_bytes(content)
    for name in sorted(p.name for p in output.iterdir()):
        click.echo(output / name)
