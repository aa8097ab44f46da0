"""Resident IDs: encrypted at rest, looked up by keyed hash, shown masked, never in clear in the database."""
from __future__ import annotations

from sqlalchemy import select, text

from exchange.db import db
from exchange.registry.models import Person


def test_round_trip_and_masking(app_ctx):
    person = db.session.scalars(select(Person)).first()
    pii = app_ctx.extensions["pii"]
    clear = pii.decrypt(person.id_number_encrypted)
    assert len(clear) == 18
    assert person.id_number_masked == clear[:6] + "********" + clear[-4:]
    assert person.id_number_hash == pii.lookup_hash(clear)
    assert clear not in person.id_number_encrypted


def test_no_clear_resident_id_anywhere_in_the_persons_table(app_ctx):
    pii = app_ctx.extensions["pii"]
    people = db.session.scalars(select(Person).limit(200)).all()
    clears = {pii.decrypt(p.id_number_encrypted) for p in people}
    rows = db.session.execute(text("select * from persons")).all()
    dump = "\n".join(" ".join(str(v) for v in row) for row in rows)
    assert not any(c in dump for c in clears)


def test_each_encryption_is_different(app_ctx):
    pii = app_ctx.extensions["pii"]
    assert pii.encrypt("11010519491231002X") != pii.encrypt("11010519491231002X")
