"""``flask --app wsgi registry import DIR [--dry-run]``: contract-land registration data laid out per NY/T 2539."""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from exchange.db import db

registry_cli = AppGroup("registry", help="The rights registry: bulk import of registration data (NY/T 2539).")


PROGRESS_FROM = 2000  # items in a stage before it gets a progress bar


class _Quiet:
    def update(self, n: int) -> None:
        pass


def _progress(label: str, total: int):
    """A progress bar on stderr for the long stages of a large import (off a terminal, click prints the label)."""
    if total < PROGRESS_FROM:
        return contextlib.nullcontext(_Quiet())
    return click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True)


@registry_cli.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every file and report; write nothing.")
@click.option("--division", help="Jurisdiction (division code) of the importing office: every 发包方 must lie "
                                  "inside it. Default: no limit; entries name the county the data lies in.")
@click.option("--account", default="registry-import", show_default=True,
              help="The account name the ledger entries record.")
def import_command(directory: Path, dry_run: bool, division: str | None, account: str) -> None:
    """Import DIRECTORY: FBF.csv, CBF.csv, CBF_JTCY.csv, DK.csv, DK.geojson, CBHT.csv, CBDKXX.csv (and
    optionally XZQH.csv, ZJD.csv, ZJD.geojson, JTZC.csv). All or nothing: exit status 1 and a list of every
    bad row if anything is wrong; 0 when imported (or, with --dry-run, when the check passed)."""
    from exchange.audit import operations as audit
    from exchange.ledger_app.service import publish_checkpoint
    from exchange.registry.importer import import_directory

    actor = {"role": "county", "division": division, "account": account}
    report = import_directory(directory, actor=actor, dry_run=dry_run, progress=_progress)
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        db.session.rollback()
        sys.exit(1)
    if dry_run or not report.ledger_entries:
        db.session.rollback()
        return
    audit.record("registry.import", "directory", directory.name,
                 detail={"created": report.created, "unchanged": report.unchanged,
                         "ledger_entries": report.ledger_entries, "via": "cli"})
    db.session.commit()
    checkpoint = publish_checkpoint()
    db.session.commit()
    click.echo(f"checkpoint: tree size {checkpoint.tree_size}")
