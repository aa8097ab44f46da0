"""The standard contracts (示范合同文本) the exchange generates: one kind per way a right changes hands.

Each kind names its template folder under ``templates/contracts/`` and the registry action whose rules its
terms must pass (``exchange.registry.rules``). The standard clauses a township may edit before signing live
beside the template in ``clauses.toml``, so the wording of a contract is edited in one place.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from exchange.registry.models import RightType
from exchange.registry.rules import PLEDGEABLE

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "contracts"
CLAUSES = ("rights_and_duties", "expropriation", "liability", "dispute_resolution")  # editable standard texts


@dataclass(frozen=True)
class ContractKind:
    code: str
    title_zh: str
    title_en: str
    template: str  # folder under templates/contracts/
    registry_action: str | None  # the exchange.registry.rules action its terms are checked against
    is_lease: bool  # its usual form is a lease (租赁): periodic rent, and 民法典 Art 705's 20 years apply
    modes: tuple[str, ...] = ()  # accepted ways of transfer; the first is the default
    party_labels: tuple[str, str] = ("甲方", "乙方")  # how the contract calls the transferor and transferee
    source_types: frozenset[RightType] = frozenset()  # rights a contract of this kind may be drawn on
    asset: str | None = None  # parcel | homestead | collective_asset: what the right must be over

    @property
    def default_mode(self) -> str:
        return self.modes[0]


KINDS: dict[str, ContractKind] = {k.code: k for k in (
    ContractKind("land_management_transfer", "土地经营权流转合同", "Land management-right transfer contract",
                 "land_management_transfer", "transfer_management", True, ("出租", "转包", "入股", "转让", "其他"),
                 ("甲方（流出方）", "乙方（流入方）"), frozenset({RightType.contract, RightType.management}), "parcel"),
    ContractKind("homestead_lease", "宅基地使用权及农房租赁合同", "Homestead use-right and rural house lease contract",
                 "homestead_lease", "lease_use", True, ("出租", "合作"), ("甲方（出租方）", "乙方（承租方）"),
                 frozenset({RightType.homestead_use}), "homestead"),
    ContractKind("construction_grant", "集体经营性建设用地使用权出让合同",
                 "Collective operating construction land use-right grant contract", "construction_grant",
                 "grant_construction_use", False, ("出让",), ("甲方（出让方）", "乙方（受让方）"),
                 frozenset({RightType.ownership}), "collective_asset"),
    ContractKind("construction_lease", "集体经营性建设用地使用权租赁合同",
                 "Collective operating construction land use-right lease contract", "construction_lease",
                 "grant_construction_use", True, ("出租",), ("甲方（出租方）", "乙方（承租方）"),
                 frozenset({RightType.ownership}), "collective_asset"),
    ContractKind("asset_lease", "集体资产租赁合同", "Collective asset lease contract", "asset_lease", "lease_asset",
                 True, ("出租",), ("甲方（出租方）", "乙方（承租方）"), frozenset({RightType.ownership}),
                 "collective_asset"),
    ContractKind("share_transfer", "股份转让合同", "Collective share transfer contract", "share_transfer", None,
                 False, ("转让",), ("甲方（转让方）", "乙方（受让方）"), frozenset({RightType.shares})),
    ContractKind("mortgage", "抵押合同", "Mortgage contract", "mortgage", "pledge", False, ("抵押",),
                 ("甲方（抵押人）", "乙方（抵押权人）"), frozenset(PLEDGEABLE)),
)}

CONSTRUCTION_LAND = "经营性建设用地"  # the CollectiveAsset.category of operating construction land


@cache
def standard_clauses(kind: str) -> dict[str, str]:
    """The standard texts of ``kind`` (rights and duties, expropriation, liability, dispute resolution)."""
    with (TEMPLATES / KINDS[kind].template / "clauses.toml").open("rb") as f:
        clauses = tomllib.load(f)
    missing = [name for name in CLAUSES if not str(clauses.get(name) or "").strip()]
    if missing:
        raise RuntimeError(f"templates/contracts/{kind}/clauses.toml lacks {', '.join(missing)}")
    return {name: clauses[name].strip() for name in CLAUSES}
