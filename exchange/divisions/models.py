"""Administrative divisions (行政区划): county ⊃ township ⊃ village ⊃ group.

Codes follow GB/T 2260 (6-digit county) and the 12-digit statistical code (+3 township, +3 village);
a villagers' group (村民小组) adds 2 digits, as the contract-land 发包方 code of NY/T 2539 does.
"""
from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.db import Base


class DivisionLevel(enum.Enum):
    county = "county"  # 县 (6-digit code)
    township = "township"  # 乡镇 (9 significant digits of the 12-digit code)
    village = "village"  # 村 (12-digit code)
    group = "group"  # 村民小组 (14-digit code)


LEVEL_NAMES = {
    DivisionLevel.county: _l("县"),
    DivisionLevel.township: _l("乡镇"),
    DivisionLevel.village: _l("村"),
    DivisionLevel.group: _l("村民小组"),
}

CODE_LENGTH = {
    DivisionLevel.county: 6,
    DivisionLevel.township: 9,
    DivisionLevel.village: 12,
    DivisionLevel.group: 14,
}


class Division(Base):
    __tablename__ = "divisions"
    __table_args__ = (
        CheckConstraint("length(code) in (6, 9, 12, 14)", name="code_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(14), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[DivisionLevel] = mapped_column(Enum(DivisionLevel, native_enum=False, length=16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("divisions.id"), index=True)

    parent: Mapped[Division | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Division]] = relationship(back_populates="parent", order_by="Division.code")

    @property
    def statistical_code(self) -> str:
        """The 12-digit statistical code (a group shows its village's code plus its own two digits)."""
        return self.code.ljust(12, "0") if len(self.code) < 12 else self.code

    def contains(self, other: Division | None) -> bool:
        """Whether ``other`` lies inside this division (or is it). Codes are hierarchical prefixes."""
        return other is not None and other.code.startswith(self.code)

    @property
    def full_name(self) -> str:
        names, node = [], self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return "".join(reversed(names))

    def __repr__(self) -> str:
        return f"<Division {self.code} {self.name}>"
