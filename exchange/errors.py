"""Refusals a person can act on: a stable code, the field, and a message in Chinese and English."""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field


@dataclass
class DomainError(Exception):
    code: str
    message_zh: str
    message_en: str
    field: str | None = None
    status: int = 422
    details: list[dict] = dataclass_field(default_factory=list)

    def message(self, locale: str) -> str:
        return self.message_en if str(locale).startswith("en") else self.message_zh

    def __str__(self) -> str:
        return f"{self.code}: {self.message_en}"
