from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.db import Base, utcnow
from exchange.registry.models import Encumbrance, Right


class CertificateKind(enum.Enum):
    transaction = "transaction"  # 农村产权交易鉴证书: every completed transfer
    mortgage = "mortgage"  # 抵押登记证明
    extract = "extract"  # 权属及他项权利查询证明: a right at a point in time


KIND_PREFIX = {CertificateKind.transaction: "JZ", CertificateKind.mortgage: "DY", CertificateKind.extract: "CX"}
KIND_TITLES = {
    CertificateKind.transaction: ("农村产权交易鉴证书", "Rural property rights transaction certificate"),
    CertificateKind.mortgage: ("抵押登记证明", "Mortgage registration certificate"),
    CertificateKind.extract: ("权属及他项权利查询证明", "Extract of title and encumbrances"),
}


class Certificate(Base):
    """A certificate is its ledger entry (kind "certificate"), which holds every fact the PDF shows."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[CertificateKind] = mapped_column(Enum(CertificateKind, native_enum=False, length=16), index=True)
    right_id: Mapped[int] = mapped_column(ForeignKey("rights.id"), index=True)
    encumbrance_id: Mapped[int | None] = mapped_column(ForeignKey("encumbrances.id"), index=True)
    subject_index: Mapped[int] = mapped_column(BigInteger)  # the ledger entry certified (transfer, pledge …)
    ledger_index: Mapped[int] = mapped_column(BigInteger, unique=True)  # the certificate's own entry
    issued_by: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    right: Mapped[Right] = relationship()
    encumbrance: Mapped[Encumbrance | None] = relationship()
