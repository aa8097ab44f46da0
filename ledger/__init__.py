"""The exchange's transparency log, usable on its own by banks and auditors (no Flask, no exchange code).

- ``ledger.entry``: canonical (RFC 8785) entries
- ``ledger.merkle``: RFC 6962/9162 tree, inclusion and consistency proofs
- ``ledger.note`` / ``ledger.checkpoint``: C2SP signed notes and checkpoints (Ed25519)
- ``ledger.policy``: which log keys and witness cosignatures a verifier accepts
- ``ledger.witness``: a witness that cosigns only consistent checkpoints
- ``ledger.storage`` / ``ledger.audit``: SQLAlchemy Core storage and the full audit
"""
