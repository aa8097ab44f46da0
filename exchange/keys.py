"""Keys the running platform needs, created in the instance folder on first set-up."""
from __future__ import annotations

from flask import Flask


def ensure_keys(app: Flask) -> list[str]:
    """Create whatever key is missing; never replace an existing one. Returns what was done."""
    lines = []
    pii = app.extensions["pii"]  # created with its keys at start-up
    lines.append("personal-data keys: ok" if pii else "personal-data keys: missing")
    from exchange.ledger_app.service import ensure_ledger_keys

    lines += ensure_ledger_keys(app.config["LEDGER_ORIGIN"], app.config["LEDGER_WITNESSES"],
                                app.config["LEDGER_WITNESS_QUORUM"])
    from exchange.ca import ensure_ca

    lines += ensure_ca(app.config["KEY_DIR"])
    return lines
