"""Demo certificates: the transaction certificate of the demo lease and the mortgage registration certificate of
its pledge, so a bank has something real to verify."""
from __future__ import annotations

from sqlalchemy import select

from exchange.certificates.models import CertificateKind
from exchange.certificates.operations import issue_certificate
from exchange.db import db
from exchange.demo.data import COUNTY
from exchange.ledger_app.service import ledger_actor
from exchange.registry.models import Encumbrance, Right, RightType


def load_certificates_demo() -> dict[str, int]:
    issued = 0
    with ledger_actor({"role": "county", "division": COUNTY[0], "account": "demo-import"}):
        for right in db.session.scalars(select(Right).where(Right.right_type == RightType.management).order_by(Right.id)):
            issue_certificate(CertificateKind.transaction, right)
            issued += 1
        for encumbrance in db.session.scalars(select(Encumbrance).order_by(Encumbrance.id)):
            issue_certificate(CertificateKind.mortgage, encumbrance.right, encumbrance)
            issued += 1
    return {"certificates": issued}
