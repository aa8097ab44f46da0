"""``flask --app wsgi ledger …``: the log's key, checkpoints, entries, proofs, the audit and witnesses."""
from __future__ import annotations

import base64
import json
import sys
from datetime import timedelta

import click
from flask.cli import AppGroup

from exchange.db import db
from exchange.ledger_app import service
from ledger.audit import audit
from ledger.entry import EntryError, decode
from ledger.merkle import ProofError

class LedgerGroup(AppGroup):
    """Turns a missing set-up into one clear line instead of a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except service.LedgerNotSetUp as exc:
            raise click.ClickException(str(exc)) from None


ledger_cli = LedgerGroup("ledger", help="The signed append-only ledger (RFC 6962 log, C2SP checkpoints).")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@ledger_cli.command("vkey")
def vkey() -> None:
    """Print the log's verifier key (Go sumdb/note format)."""
    click.echo(service.current_vkey())


@ledger_cli.command("policy")
def policy() -> None:
    """Print the published verifier policy (log keys with validity windows, witnesses, quorum)."""
    click.echo(service.load_policy().to_json(), nl=False)


@ledger_cli.command("checkpoint")
def checkpoint() -> None:
    """Print the newest signed checkpoint, making and cosigning one first if entries were appended since."""
    published = service.publish_checkpoint()
    db.session.commit()
    click.echo(published.text, nl=False)


@ledger_cli.command("entries")
@click.argument("start", type=click.IntRange(min=0))
@click.argument("end", type=click.IntRange(min=0))
def entries(start: int, end: int) -> None:
    """JSON Lines for entries START <= index < END."""
    try:
        rows = service.store().entries(db.session.connection(), start, end)
    except ProofError as exc:
        _fail(str(exc))
    for index, raw in rows:
        try:
            value = decode(raw)
        except EntryError as exc:
            _fail(f"entry {index}: {exc}")
        click.echo(json.dumps({"index": index, "leaf": b64(raw), "entry": value}, ensure_ascii=False))


@ledger_cli.command("inclusion")
@click.argument("index", type=click.IntRange(min=0))
@click.argument("size", type=click.IntRange(min=1))
def inclusion(index: int, size: int) -> None:
    """Inclusion proof of entry INDEX in the tree of SIZE entries."""
    try:
        leaf_hash, proof = service.store().inclusion_proof(db.session.connection(), index, size)
    except ProofError as exc:
        _fail(str(exc))
    click.echo(json.dumps({"index": index, "tree_size": size, "leaf_hash": b64(leaf_hash),
                           "proof": [b64(p) for p in proof]}))


@ledger_cli.command("consistency")
@click.argument("old", type=click.IntRange(min=1))
@click.argument("new", type=click.IntRange(min=1))
def consistency(old: int, new: int) -> None:
    """Consistency proof from the tree of OLD entries to the tree of NEW entries."""
    try:
        proof = service.store().consistency_proof(db.session.connection(), old, new)
    except ProofError as exc:
        _fail(str(exc))
    click.echo(json.dumps({"old_size": old, "new_size": new, "proof": [b64(p) for p in proof]}))


@ledger_cli.command("verify")
def verify() -> None:
    """Full audit: every leaf, node and checkpoint signature. Exit 1 naming the first problem."""
    report = audit(db.session.connection(), service.store(), service.load_policy())
    if not report.ok:
        _fail(report.summary())
    click.echo(report.summary())


@ledger_cli.command("rotate-key")
@click.option("--overlap-days", default=30, show_default=True, type=click.IntRange(min=0),
              help="How long the old key keeps signing beside the new one.")
def rotate_key(overlap_days: int) -> None:
    """Create a new log key; old keys sign alongside it during the overlap, then stop."""
    vkey, until = service.rotate_log_key(timedelta(days=overlap_days))
    click.echo(f"new log key: {vkey}\nold keys sign until {until}; publish the new policy (ledger policy)")


witness_cli = AppGroup("witness", help="Witnesses run by the platform: keys and cosignatures.")
ledger_cli.add_command(witness_cli)


@witness_cli.command("init")
@click.argument("name")
@click.option("--description", default="", help="Who runs it, e.g. 四川省农村产权交易中心.")
def witness_init(name: str, description: str) -> None:
    """Create a witness key NAME (a schema-less URL) and add it to the policy; print its verifier key."""
    policy = service.load_policy()
    if any(w.verifier.name == name for w in policy.witnesses):
        _fail(f"witness {name} already exists")
    try:
        verifier = service.add_witness(policy, name, description)
    except ValueError as exc:
        _fail(str(exc))
    service.save_policy(policy)
    click.echo(verifier.vkey)


@witness_cli.command("list")
def witness_list() -> None:
    """The witnesses in the policy (verifier keys) and the quorum."""
    policy = service.load_policy()
    for w in policy.witnesses:
        click.echo(f"{w.verifier.vkey}  {w.description}")
    click.echo(f"quorum: {policy.witness_quorum}")


@witness_cli.command("cosign")
def witness_cosign() -> None:
    """Have the platform's witnesses check consistency and cosign the newest checkpoint; print it."""
    try:
        published = service.publish_checkpoint()
    except service.WitnessError as exc:
        db.session.rollback()
        _fail(f"witness refused: {exc}")
    db.session.commit()
    click.echo(published.text, nl=False)
