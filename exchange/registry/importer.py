"""Bulk import of contract-land registration data laid out per NY/T 2539 (农村土地承包经营权确权登记数据库规范).

Reading and checking are pure: every file is read into small records and every row is checked (codes, check
digits, references, geometry, areas, overlaps, terms, and agreement with what is already registered) before
anything is written. One bad row refuses the whole import and the report lists every bad row with its file,
line, field, what was wrong and what would be accepted. Otherwise ``import_directory`` registers everything
through ``exchange.registry.operations`` in one savepoint and one ledger batch; rows already registered with
identical data are skipped ("unchanged"), so importing the same directory twice changes nothing.

The files and their columns are documented in README.md, "Importing registration data (NY/T 2539)".
This module is longer than style.md's ~400 lines; it stays one file because it is one pipeline.
"""
from __future__ import annotations

import contextlib
import csv
import gc
import io
import json
import math
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from exchange.db import db
from exchange.divisions.models import Division, DivisionLevel
from exchange.errors import DomainError
from exchange.identifiers import (
    IdentifierError, mask_resident_id, resident_id_check_char, uscc_check_char, validate_resident_id, validate_uscc,
)
from exchange.ledger_app.service import ledger_actor, ledger_batch, record_many, store
from exchange.registry import bulk, operations
from exchange.registry.models import (
    AssetClass, Collective, CollectiveAsset, Homestead, Household, LandClass, Parcel, Person, Right, RightHolder,
    RightType,
)
from ledger.entry import EntryError, make_entry

# --- the files ---------------------------------------------------------------------------------------------

# Each CSV file: required columns, optional columns read here. Other columns are allowed and ignored.
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "XZQH.csv": (("XZQDM", "XZQMC"), ()),  # 行政区划 (this platform's addition; optional file)
    "FBF.csv": (("FBFBM", "FBFMC"), ("TYSHXYDM", "JTJJZZMC")),  # 发包方
    "CBF.csv": (("CBFBM", "CBFMC"), ("FBFBM", "CBFLX", "CBFZJLX", "CBFZJHM", "CBFDZ", "CBFCYSL")),  # 承包方
    "CBF_JTCY.csv": (("CBFBM", "CYXM", "CYZJHM", "YHZGX"), ("CYXB", "CYZJLX", "CSRQ")),  # 承包方家庭成员
    "DK.csv": (("DKBM", "DKMC", "SCMJ", "TDYT", "TDLYLX"),
               ("FBFBM", "DKLB", "SFJBNT", "DKDZ", "DKNZ", "DKXZ", "DKBZ")),  # 地块
    "CBHT.csv": (("CBHTBM", "CBFBM", "CBQXQ", "CBQXZ"), ("FBFBM", "CBFS", "CBDKZS")),  # 承包合同
    "CBDKXX.csv": (("DKBM", "CBFBM", "CBHTBM"), ("FBFBM",)),  # 承包地块信息
    "ZJD.csv": (("ZDDM", "FBFBM", "MJ"), ("CBFBM", "FWJZMJ", "FWJG", "ZL")),  # 宅基地 (optional)
    "JTZC.csv": (("ZCBM", "ZCMC", "ZCLB", "ZCFL"),
                 ("TYSHXYDM", "FBFBM", "MJ", "ZMJZ", "LY", "ZL", "ZT", "GHYT", "RJL")),  # 集体资产 (optional)
}
GEOJSON = {"DK.geojson": "DKBM", "ZJD.geojson": "ZDDM"}
FILE_ORDER = ["XZQH.csv", "FBF.csv", "CBF.csv", "CBF_JTCY.csv", "DK.csv", "DK.geojson", "CBHT.csv", "CBDKXX.csv",
              "ZJD.csv", "ZJD.geojson", "JTZC.csv"]

METRES_PER_DEGREE = 111_320.0  # equirectangular projection at the polygon's latitude (as exchange.demo.data)
OVERLAP_MIN_M2 = 0.01  # below this, two polygons only share an edge (floating-point noise)

# --- codes of NY/T 2539 and the standards it cites ---------------------------------------------------------

LAND_USES = {"1": "种植业", "2": "林业", "3": "畜牧业", "4": "渔业", "5": "非农业用途"}  # TDYT
PARCEL_CATEGORIES = {"10": "承包地块", "21": "自留地", "22": "机动地", "23": "开荒地", "99": "其他集体土地"}  # DKLB
LAND_CLASS_BY_PREFIX = {  # TDLYLX (GB/T 21010): the first two digits name the class
    "01": LandClass.arable, "02": LandClass.garden, "03": LandClass.forest, "04": LandClass.grassland,
    "11": LandClass.water,
}
RELATIONS = {  # YHZGX: 家庭关系代码 (GB/T 4761)
    "01": "本人", "02": "户主", "10": "配偶", "11": "夫", "12": "妻", "20": "子", "21": "独生子", "22": "长子",
    "23": "次子", "24": "三子", "25": "四子", "26": "五子", "27": "养子或继子", "28": "女婿", "29": "其他儿子",
    "30": "女", "31": "独生女", "32": "长女", "33": "次女", "34": "三女", "35": "四女", "36": "五女",
    "37": "养女或继女", "38": "儿媳", "39": "其他女儿", "40": "孙子、孙女或外孙子、外孙女", "41": "孙子",
    "42": "孙女", "43": "外孙子", "44": "外孙女", "45": "孙媳妇或外孙媳妇", "46": "孙女婿或外孙女婿",
    "47": "曾孙子或外曾孙子", "48": "曾孙女或外曾孙女", "49": "其他孙子、孙女或外孙子、外孙女", "50": "父母",
    "51": "父亲", "52": "母亲", "53": "公公", "54": "婆婆", "55": "岳父", "56": "岳母", "57": "继父或养父",
    "58": "继母或养母", "59": "其他父母关系", "70": "兄弟姐妹", "71": "兄", "72": "嫂", "73": "弟", "74": "弟媳",
    "75": "姐姐", "76": "姐夫", "77": "妹妹", "78": "妹夫", "79": "其他兄弟姐妹", "99": "非亲属",
}
SEXES = {"1": "1", "2": "2", "男": "1", "女": "2"}  # GB/T 2261.1
ID_TYPES = {"", "1", "4"}  # 证件类型: 1 居民身份证, 4 户口簿 (carries the same 18-character number)
ASSET_CLASSES = {"resource": AssetClass.resource, "资源性": AssetClass.resource, "资源性资产": AssetClass.resource,
                 "operating": AssetClass.operating, "经营性": AssetClass.operating, "经营性资产": AssetClass.operating,
                 "non_operating": AssetClass.non_operating, "非经营性": AssetClass.non_operating,
                 "非经营性资产": AssetClass.non_operating}
ASSET_STATUSES = {"idle": "idle", "闲置": "idle", "in_use": "in_use", "在用": "in_use", "leased": "leased",
                  "出租": "leased"}

# What each field accepts, as the report says it (zh, en).
ACCEPTED = {
    "XZQDM": ("6 位（县）、9 位（乡镇）、12 位（村）或 14 位（村民小组）数字",
              "6 (county), 9 (township), 12 (village) or 14 (group) digits"),
    "FBFBM": ("14 位数字：12 位村级行政区划代码 + 2 位村民小组代码（村级发包方为 00）",
              "14 digits: the 12-digit village code + a 2-digit group code (00 for a village-level 发包方)"),
    "CBFBM": ("18 位数字：发包方编码（14 位）+ 4 位承包方顺序码", "18 digits: the 14-digit 发包方 code + a 4-digit sequence"),
    "DKBM": ("19 位数字：发包方编码（14 位）+ 5 位地块顺序码", "19 digits: the 14-digit 发包方 code + a 5-digit sequence"),
    "CBHTBM": ("19 位：承包方编码（18 位数字）+ 1 位承包方式代码（如 J 家庭承包）",
               "19 characters: the 18-digit 承包方 code + a letter or digit for the mode (e.g. J, family contract)"),
    "ZDDM": ("19 位数字或大写字母（宗地代码）", "19 digits or capital letters (the plot code)"),
    "ZCBM": ("1–32 位字母、数字或“-”", "1–32 letters, digits or '-'"),
    "TYSHXYDM": ("18 位统一社会信用代码（GB 32100），集体经济组织以 N1/N2/N3 开头；可省略，省略时按发包方编码生成",
                 "an 18-character unified social credit code (GB 32100), N1/N2/N3 for collectives; may be left out, "
                 "then one is derived from the 发包方 code"),
    "ID": ("18 位公民身份号码（GB 11643）：17 位数字 + 校验码（0–9 或 X，ISO 7064 MOD 11-2）",
           "an 18-character resident ID (GB 11643): 17 digits + a check character (0–9 or X, ISO 7064 MOD 11-2)"),
    "ID_TYPE": ("1 居民身份证、4 户口簿，或留空", "1 (resident ID card), 4 (household register) or empty"),
    "DATE": ("日期 YYYY-MM-DD（也接受 YYYY/M/D、YYYYMMDD）", "a date YYYY-MM-DD (YYYY/M/D and YYYYMMDD also work)"),
    "AREA": ("大于 0 的平方米数，最多两位小数", "square metres, more than 0, at most two decimals"),
    "MONEY": ("不小于 0 的金额（元）", "an amount in yuan, 0 or more"),
    "TDYT": ("1 种植业、2 林业、3 畜牧业、4 渔业、5 非农业用途", "1 cropping, 2 forestry, 3 livestock, 4 fishery, 5 non-agricultural"),
    "TDLYLX": ("GB/T 21010 土地利用类型代码：01x 耕地、02x 园地、03x 林地、04x 草地、11x 水域（如 011、0101、114）",
               "a GB/T 21010 land-use code: 01x arable, 02x garden, 03x forest, 04x grassland, 11x water (e.g. 011, 0101, 114)"),
    "DKLB": ("10 承包地块、21 自留地、22 机动地、23 开荒地、99 其他集体土地，或留空（按 10）",
             "10 contract land, 21 private plot, 22 reserve land, 23 reclaimed land, 99 other, or empty (10)"),
    "SFJBNT": ("1 是、2 否，或留空（否）", "1 yes, 2 no, or empty (no)"),
    "CYXB": ("1 男、2 女，或留空（按身份证号码）", "1 male, 2 female, or empty (taken from the ID number)"),
    "YHZGX": ("GB/T 4761 家庭关系代码（如 02 户主、10 配偶、20 子、30 女）或关系名称（不超过 20 字）",
              "a GB/T 4761 relation code (e.g. 02 head, 10 spouse, 20 son, 30 daughter) or the relation in words (≤ 20)"),
    "CBFLX": ("1 农户，或留空", "1 (household), or empty"),
    "ZCLB": ("资源性、经营性、非经营性（或 resource、operating、non_operating）",
             "资源性, 经营性, 非经营性 (or resource, operating, non_operating)"),
    "ZT": ("闲置、在用、出租（或 idle、in_use、leased），或留空（闲置）",
           "闲置, 在用, 出租 (or idle, in_use, leased), or empty (idle)"),
    "GEOMETRY": ("GeoJSON Polygon 或 MultiPolygon，WGS 84 / CGCS2000 经纬度（度），每个环闭合、不自相交、面积大于 0",
                 "a GeoJSON Polygon or MultiPolygon in WGS 84 / CGCS2000 longitude and latitude (degrees), each ring "
                 "closed, not self-intersecting, with an area"),
    "TEXT": ("非空文字", "some text"),
    "COUNT": ("非负整数", "a whole number, 0 or more"),
}


# --- the report ----------------------------------------------------------------------------------------------


@dataclass
class Issue:
    """One bad row (or a warning): where it is, which field, what was wrong, and what would be accepted."""

    file: str
    line: int | None  # CSV: the line in the file (the header is line 1); GeoJSON: the feature's position
    field: str
    code: str
    message_zh: str
    message_en: str
    accepted_zh: str = ""
    accepted_en: str = ""

    def where(self, locale: str = "zh") -> str:
        if self.line is None:
            return self.file
        if self.file.endswith(".geojson"):
            return f"{self.file} feature {self.line}" if locale.startswith("en") else f"{self.file} 第 {self.line} 个要素"
        return f"{self.file}:{self.line}"

    def message(self, locale: str = "zh") -> str:
        return self.message_en if str(locale).startswith("en") else self.message_zh

    def accepted(self, locale: str = "zh") -> str:
        return self.accepted_en if str(locale).startswith("en") else self.accepted_zh

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "code": self.code,
                "message_zh": self.message_zh, "message_en": self.message_en,
                "accepted_zh": self.accepted_zh, "accepted_en": self.accepted_en}


KINDS = ("divisions", "collectives", "households", "persons", "parcels", "contracts", "homesteads",
         "collective_assets")
KIND_LABELS = {"divisions": "行政区划", "collectives": "集体经济组织", "households": "承包方", "persons": "家庭成员",
               "parcels": "地块", "contracts": "承包权", "homesteads": "宅基地", "collective_assets": "集体资产"}


@dataclass
class ImportReport:
    directory: str
    dry_run: bool = False
    issues: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    unchanged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    ledger_entries: int = 0
    seconds: float = 0.0
    files: dict[str, str] = field(default_factory=dict)  # file name → encoding read

    @property
    def ok(self) -> bool:
        return not self.issues

    def summary(self, locale: str = "zh") -> str:
        en = str(locale).startswith("en")

        def counts(values: dict[str, int]) -> str:
            text = ("、" if not en else ", ").join(f"{k if en else KIND_LABELS[k]} {v}" for k, v in values.items() if v)
            return text or ("nothing" if en else "无")

        created, unchanged = counts(self.created), counts(self.unchanged)
        if not self.ok:
            return (f"refused: {len(self.issues)} bad row(s); nothing was written" if en
                    else f"未导入：{len(self.issues)} 处错误，未写入任何数据")
        if self.dry_run:
            return (f"check passed (dry run, nothing written); would create: {created}; unchanged: {unchanged}" if en
                    else f"检查通过（试运行，未写入）；将新建：{created}；未变：{unchanged}")
        return (f"imported: created {created}; unchanged {unchanged}; ledger entries {self.ledger_entries}; "
                f"{self.seconds:.1f} s" if en else
                f"已导入：新建 {created}；未变 {unchanged}；账本条目 {self.ledger_entries}；用时 {self.seconds:.1f} 秒")

    def lines(self) -> list[str]:
        """The report as text: every bad row and warning in Chinese, then English."""
        out = []
        for title, items in (("错误 errors", self.issues), ("提示 warnings", self.warnings)):
            if items:
                out.append(f"{title}: {len(items)}")
            for item in items:
                out.append(f"{item.where()}  {item.field}  [{item.code}]  {item.message_zh}"
                           + (f" 应为：{item.accepted_zh}" if item.accepted_zh else ""))
                out.append(f"    {item.message_en}" + (f" Accepted: {item.accepted_en}" if item.accepted_en else ""))
        out.append(self.summary("zh"))
        out.append(self.summary("en"))
        return out


# --- reading ---------------------------------------------------------------------------------------------------


@dataclass
class Table:
    name: str
    encoding: str
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]


def decode(data: bytes) -> tuple[str, str] | None:
    """Text and encoding name: UTF-8 (with or without BOM), else GB18030; None if neither fits."""
    for encoding, label in (("utf-8-sig", "UTF-8"), ("gb18030", "GB18030")):
        try:
            return data.decode(encoding), label
        except UnicodeDecodeError:
            continue
    return None


def read_csv(path: Path, name: str, issues: list[Issue]) -> Table | None:
    decoded = decode(path.read_bytes())
    if decoded is None:
        issues.append(Issue(name, None, "文件 file", "ENCODING", "文件既不是 UTF-8 也不是 GB18030 编码。",
                            "The file is neither UTF-8 nor GB18030.", "UTF-8 或 GB18030 编码的 CSV", "UTF-8 or GB18030 CSV"))
        return None
    text, encoding = decoded
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        issues.append(Issue(name, 1, "文件 file", "EMPTY", "文件为空，没有表头。", "The file is empty (no header).",
                            "第 1 行为表头（字段名）", "a header line of field names"))
        return None
    columns = [c.strip().lstrip("\ufeff").upper() for c in header]
    required, _optional = TABLES[name]
    missing = [c for c in required if c not in columns]
    for column in missing:
        issues.append(Issue(name, 1, column, "MISSING-COLUMN", f"缺少必填列 {column}。", f"The column {column} is missing.",
                            "、".join(required), ", ".join(required)))
    if missing:
        return None
    rows = []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(columns):
            issues.append(Issue(name, line, "-", "COLUMNS", f"该行有 {len(cells)} 列，表头只有 {len(columns)} 列。",
                                f"The row has {len(cells)} cells but the header has {len(columns)} columns.",
                                "每行的列数与表头相同", "as many cells as the header has columns"))
            continue
        rows.append((line, {c: (cells[i].strip() if i < len(cells) else "") for i, c in enumerate(columns)}))
    return Table(name, encoding, columns, rows)


def find_files(directory: Path) -> dict[str, Path]:
    """The known files in ``directory``, matched without regard to case."""
    present = {p.name.lower(): p for p in directory.iterdir() if p.is_file()}
    return {name: present[name.lower()] for name in FILE_ORDER if name.lower() in present}


# --- geometry -------------------------------------------------------------------------------------------------


def _polygons(geometry: dict) -> list:
    return [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]


def _orient(a, b, c) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _on_segment(a, b, p) -> bool:
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def _segments_touch(a, b, c, d) -> bool:
    d1, d2, d3, d4 = _orient(c, d, a), _orient(c, d, b), _orient(a, b, c), _orient(a, b, d)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True
    return ((d1 == 0 and _on_segment(c, d, a)) or (d2 == 0 and _on_segment(c, d, b))
            or (d3 == 0 and _on_segment(a, b, c)) or (d4 == 0 and _on_segment(a, b, d)))


def _self_intersects(points: list) -> bool:
    """Whether a closed ring (first point repeated last, no repeated neighbours) touches or crosses itself."""
    n = len(points) - 1
    edges = [(points[i], points[i + 1]) for i in range(n)]
    box = [(min(a[0], b[0]), max(a[0], b[0]), min(a[1], b[1]), max(a[1], b[1])) for a, b in edges]
    order = sorted(range(n), key=lambda k: box[k][0])
    for position, i in enumerate(order):
        for j in order[position + 1:]:
            if box[j][0] > box[i][1]:
                break
            if box[j][2] > box[i][3] or box[j][3] < box[i][2]:
                continue
            first, second = min(i, j), max(i, j)
            if second == first + 1 or (first == 0 and second == n - 1):  # neighbours share a point
                a, b = edges[first] if second == first + 1 else edges[second]
                c = edges[second][1] if second == first + 1 else edges[first][1]
                if _orient(a, b, c) == 0 and (b[0] - a[0]) * (c[0] - b[0]) + (b[1] - a[1]) * (c[1] - b[1]) < 0:
                    return True  # the ring folds back on itself (a spike)
                continue
            if _segments_touch(*edges[i], *edges[j]):
                return True
    return False


def _shoelace(points: list) -> float:
    return sum(points[i][0] * points[i + 1][1] - points[i + 1][0] * points[i][1] for i in range(len(points) - 1)) / 2


def _projected(ring: list, lat0: float) -> list[tuple[float, float]]:
    kx = METRES_PER_DEGREE * math.cos(lat0)
    return [(p[0] * kx, p[1] * METRES_PER_DEGREE) for p in ring]


def geometry_problem(geometry: Any) -> tuple[str, str] | None:
    """Why ``geometry`` is not a valid polygon (zh, en), or None."""
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        return f"图形类型为“{kind}”，应为 Polygon 或 MultiPolygon。", f"The geometry is a {kind}, not a Polygon or MultiPolygon."
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or not coordinates:
        return "图形没有坐标。", "The geometry has no coordinates."
    polygons = [coordinates] if geometry["type"] == "Polygon" else coordinates
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            return "多边形没有环。", "A polygon has no rings."
        for r, ring in enumerate(polygon):
            if not isinstance(ring, list) or len(ring) < 4:
                return ("环至少需要 4 个坐标（首尾相同）。", "A ring needs at least 4 positions (the first repeated last).")
            for p in ring:
                if (not isinstance(p, list) or len(p) not in (2, 3)
                        or not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in p)):
                    return "坐标应为 [经度, 纬度] 数值。", "Each position must be [longitude, latitude] numbers."
                if not (-180 <= p[0] <= 180 and -90 <= p[1] <= 90):
                    return (f"坐标 {p[:2]} 不是经纬度（度）；请先把投影坐标（如 CGCS2000 高斯-克吕格）转换为经纬度。",
                            f"The position {p[:2]} is not longitude/latitude in degrees; convert projected "
                            "coordinates (e.g. CGCS2000 Gauss-Krüger) first.")
            if ring[0][:2] != ring[-1][:2]:
                return "环未闭合：首尾坐标应相同。", "A ring is not closed: its first and last positions differ."
            points = [tuple(ring[0][:2])]
            for p in ring[1:]:
                if tuple(p[:2]) != points[-1]:
                    points.append(tuple(p[:2]))
            if len(points) >= 4 and _self_intersects(points):
                which = "外环" if r == 0 else f"第 {r} 个内环"
                return (f"{which}自相交或自相接。", f"The {'outer ring' if r == 0 else f'inner ring {r}'} crosses or touches itself.")
            if len(points) < 4 or _shoelace(points) == 0:
                return "环的面积为 0。", "A ring has no area."
    return None


def geometry_area_m2(geometry: dict) -> float:
    """Area of a small WGS 84 polygon in m² (equirectangular projection at each polygon's mean latitude)."""
    total = 0.0
    for polygon in _polygons(geometry):
        outer = polygon[0]
        lat0 = math.radians(sum(p[1] for p in outer) / len(outer))
        total += abs(_shoelace(_projected(outer, lat0))) - sum(abs(_shoelace(_projected(h, lat0))) for h in polygon[1:])
    return total


def _ccw_open(points: list) -> list[tuple[float, float]]:
    """A ring as an open, counter-clockwise list of points."""
    ring = points[:-1] if points[0] == points[-1] else list(points)
    return ring if _shoelace(ring + ring[:1]) > 0 else ring[::-1]


def _convex(ring: list) -> bool:
    n, sign = len(ring), 0
    for i in range(n):
        turn = _orient(ring[i], ring[(i + 1) % n], ring[(i + 2) % n])
        if turn:
            if sign and (turn > 0) != (sign > 0):
                return False
            sign = turn
    return True


def _clip(subject: list, clip: list) -> list:
    """Sutherland–Hodgman: ``subject`` (any simple ring) clipped by a convex counter-clockwise ``clip``.

    The result may carry zero-width bridges where the intersection has several parts; its area is still right.
    """
    output = subject
    for i in range(len(clip)):
        if not output:
            break
        (ax, ay), (bx, by) = clip[i], clip[(i + 1) % len(clip)]
        current, output = output, []
        sx, sy = current[-1]
        s_side = (bx - ax) * (sy - ay) - (by - ay) * (sx - ax)
        for ex, ey in current:
            e_side = (bx - ax) * (ey - ay) - (by - ay) * (ex - ax)
            if e_side >= 0:
                if s_side < 0:
                    t = s_side / (s_side - e_side)
                    output.append((sx + t * (ex - sx), sy + t * (ey - sy)))
                output.append((ex, ey))
            elif s_side >= 0:
                t = s_side / (s_side - e_side)
                output.append((sx + t * (ex - sx), sy + t * (ey - sy)))
            sx, sy, s_side = ex, ey, e_side
    return output


def _open_area(ring: list) -> float:
    return abs(_shoelace(ring + ring[:1])) if len(ring) >= 3 else 0.0


def _ring_intersection_area(a: list, a_convex: bool, b: list, b_convex: bool) -> float:
    if b_convex:
        return _open_area(_clip(a, b))
    if a_convex:
        return _open_area(_clip(b, a))
    # b = the signed sum of the fan triangles (b0, bi, bi+1); each triangle is convex
    total = 0.0
    for i in range(1, len(b) - 1):
        triangle = [b[0], b[i], b[i + 1]]
        turn = _orient(*triangle)
        if turn > 0:
            total += _open_area(_clip(a, triangle))
        elif turn < 0:
            total -= _open_area(_clip(a, triangle[::-1]))
    return total


@dataclass
class _Shape:
    """A polygon in local metres for the overlap check: (ring, sign, convex) with +1 outer and −1 holes."""

    code: str
    rings: list[tuple[list, int, bool]]
    box: tuple[float, float, float, float]
    new: bool = True


def _shape(code: str, geometry: dict, lat0: float, new: bool = True) -> _Shape:
    rings = []
    for polygon in _polygons(geometry):
        for r, ring in enumerate(polygon):
            points = _ccw_open(_projected(ring, lat0))
            rings.append((points, 1 if r == 0 else -1, _convex(points)))
    xs = [p[0] for ring, sign, _ in rings if sign > 0 for p in ring]
    ys = [p[1] for ring, sign, _ in rings if sign > 0 for p in ring]
    return _Shape(code, rings, (min(xs), max(xs), min(ys), max(ys)), new)


def intersection_area(a: _Shape, b: _Shape) -> float:
    return sum(sa * sb * _ring_intersection_area(ra, ca, rb, cb) for ra, sa, ca in a.rings for rb, sb, cb in b.rings)


def overlapping_pairs(shapes: list[_Shape]) -> Iterable[tuple[_Shape, _Shape, float]]:
    """Pairs (at least one new) whose polygons share more than OVERLAP_MIN_M2: a grid of bounding boxes first."""
    if len(shapes) < 2:
        return
    sizes = sorted(max(s.box[1] - s.box[0], s.box[3] - s.box[2]) for s in shapes)
    cell = max(sizes[len(sizes) // 2] * 2, 1.0)
    grid: dict[tuple[int, int], list[int]] = defaultdict(list)
    seen = set()
    for index, shape in enumerate(shapes):
        x0, x1, y0, y1 = (int(math.floor(v / cell)) for v in shape.box)
        for gx in range(x0, x1 + 1):
            for gy in range(y0, y1 + 1):
                for other in grid[(gx, gy)]:
                    if (other, index) in seen:
                        continue
                    seen.add((other, index))
                    first = shapes[other]
                    if not (first.new or shape.new):
                        continue
                    if (min(first.box[1], shape.box[1]) - max(first.box[0], shape.box[0]) <= 1e-6
                            or min(first.box[3], shape.box[3]) - max(first.box[2], shape.box[2]) <= 1e-6):
                        continue
                    area = intersection_area(first, shape)
                    if area > OVERLAP_MIN_M2:
                        yield first, shape, area
                grid[(gx, gy)].append(index)


# --- small parsers ---------------------------------------------------------------------------------------------

_DATE = re.compile(r"(\d{4})[-/.年]?(\d{1,2})[-/.月]?(\d{1,2})日?(?:[ T].*)?")
_TWO_PLACES = Decimal("0.01")


def _digits(value: str, count: int) -> bool:
    return len(value) == count and value.isascii() and value.isdigit()


def parse_date(value: str) -> date | None:
    match = _DATE.fullmatch(value.strip())
    if not match:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def parse_decimal(value: str) -> Decimal | None:
    try:
        number = Decimal(value.replace(",", "").strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def ledger_takes_for_resident_id(code: str) -> bool:
    """Whether the ledger would refuse ``code`` as a resident ID in clear (digits 7–14 a date, check digit fits).

    Some real 承包方编码 do (e.g. under a 乡 coded 2xx); the ledger's guard, not the data, would have to change.
    """
    try:
        date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        return False
    try:
        make_entry("registration", [{"type": "household", "id": code}], {"role": "system", "division": None}, {},
                   datetime.now(timezone.utc))
    except EntryError:
        return True
    return False


def mask_name(name: str) -> str:
    """A person's name as the public ledger shows it: 张*明, 李*."""
    return name[0] + "*" * max(len(name) - 2, 1) + (name[-1] if len(name) > 2 else "")


def derived_credit_code(fbf_code: str) -> str:
    """A placeholder N1 (group) or N2 (village) collective credit code for a 发包方 without one (valid check digit)."""
    first17 = ("N2" if fbf_code.endswith("00") else "N1") + fbf_code[:6] + fbf_code[6:14] + "0"
    return first17 + uscc_check_char(first17)


# --- records ---------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _DivisionRec:
    line: int | None
    code: str
    name: str


@dataclass(slots=True)
class _CollectiveRec:
    line: int
    credit_code: str
    name: str
    division_code: str
    derived: bool


@dataclass(slots=True)
class _FbfRec:
    line: int
    code: str
    name: str
    division_code: str
    collective: str  # credit code


@dataclass(slots=True)
class _MemberRec:
    line: int
    name: str
    sex: str
    relation: str
    id_number: str  # clear: kept in memory only, never logged or reported
    id_hash: str
    birth: date | None


@dataclass(slots=True)
class _HouseholdRec:
    line: int
    code: str
    fbf: str
    name: str
    address: str | None
    head_id: str | None
    declared_members: int | None
    members: list[_MemberRec] = field(default_factory=list)


@dataclass(slots=True)
class _ParcelRec:
    line: int
    code: str
    fbf: str
    name: str
    area: Decimal
    land_class: LandClass
    land_use: str
    category: str
    basic_farmland: bool
    boundaries: dict
    geometry: dict | None = None
    feature: int | None = None


@dataclass(slots=True)
class _ContractRec:
    line: int
    code: str
    cbf: str
    start: date
    end: date
    declared_parcels: int | None
    parcels: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _HoldingRec:
    line: int
    parcel: str
    cbf: str
    contract: str


@dataclass(slots=True)
class _HomesteadRec:
    line: int
    code: str
    fbf: str
    cbf: str | None
    area: Decimal
    floor_area: Decimal | None
    structure: str | None
    address: str | None
    geometry: dict | None = None
    feature: int | None = None


@dataclass(slots=True)
class _AssetRec:
    line: int
    code: str
    name: str
    collective: str  # credit code
    asset_class: AssetClass
    category: str
    area: Decimal | None
    book_value: Decimal
    source: str | None
    location: str | None
    status: str
    details: dict | None


def _no_progress(label: str, total: int):
    class _Bar:
        def update(self, n: int) -> None:
            pass
    return contextlib.nullcontext(_Bar())


Progress = Callable[[str, int], Any]  # (label, total) → a context manager whose value has update(n)


# --- checking --------------------------------------------------------------------------------------------------


class _Checker:
    """Reads every file into records and collects every problem; touches the database only to read."""

    def __init__(self, directory: Path, jurisdiction: str | None, progress: Progress, tolerance: float) -> None:
        self.directory, self.jurisdiction, self.progress, self.tolerance = directory, jurisdiction, progress, tolerance
        self.issues: list[Issue] = []
        self.warnings: list[Issue] = []
        self.files: dict[str, str] = {}
        self.pii = current_app.extensions["pii"]
        self.divisions: dict[str, _DivisionRec] = {}  # code → rec (file rows and groups derived from FBF)
        self.collectives: dict[str, _CollectiveRec] = {}
        self.fbfs: dict[str, _FbfRec] = {}
        self.households: dict[str, _HouseholdRec] = {}
        self.parcels: dict[str, _ParcelRec] = {}
        self.contracts: dict[str, _ContractRec] = {}
        self.holdings: list[_HoldingRec] = []
        self.homesteads: dict[str, _HomesteadRec] = {}
        self.assets: dict[str, _AssetRec] = {}
        self.present: dict[str, set[str]] = defaultdict(set)  # codes that appear in a file, even on a bad row
        self.db_divisions: dict[str, Division] = {}

    # reporting
    def bad(self, file: str, line: int | None, column: str, code: str, zh: str, en: str,
            accepted: str | tuple[str, str] | None = None) -> None:
        """Record a bad row; ``accepted`` is a key of ACCEPTED or a (zh, en) pair (default: the column's entry)."""
        acc = accepted if isinstance(accepted, tuple) else ACCEPTED.get(accepted or column, ("", ""))
        self.issues.append(Issue(file, line, column, code, zh, en, *acc))

    def warn(self, file: str, line: int | None, column: str, code: str, zh: str, en: str):
        self.warnings.append(Issue(file, line, column, code, zh, en))

    def required(self, file: str, line: int, row: dict, column: str) -> str | None:
        value = row.get(column, "")
        if not value:
            self.bad(file, line, column, "REQUIRED", f"{column} 不能为空。", f"{column} must not be empty.",
                     accepted=column if column in ACCEPTED else "TEXT")
            return None
        return value

    def code(self, file: str, line: int, row: dict, column: str, length: int) -> str | None:
        value = self.required(file, line, row, column)
        if value is not None and not _digits(value, length):
            self.bad(file, line, column, "CODE-LENGTH",
                     f"{column}“{value[:30]}”应为 {length} 位数字，收到 {len(value)} 位"
                     + ("" if value.isdigit() else "（含非数字字符）") + "。",
                     f"{column} '{value[:30]}' must be {length} digits; got {len(value)} characters"
                     + ("" if value.isdigit() else " (not all digits)") + ".")
            return None
        return value

    def duplicate(self, file: str, line: int, column: str, value: str, kind: str) -> bool:
        if value in self.present[kind]:
            self.bad(file, line, column, "DUPLICATE-CODE", f"{column} {value} 在本文件中重复出现。",
                     f"{column} {value} appears more than once in this file.", accepted=column)
            return True
        self.present[kind].add(value)
        return False

    def within(self, code: str) -> bool:
        return self.jurisdiction is None or code.startswith(self.jurisdiction)

    # the pipeline
    def run(self) -> None:
        found = find_files(self.directory)
        if not any(name in found for name in TABLES):
            self.bad("-", None, "文件 file", "NO-FILES", f"目录 {self.directory.name} 中没有 NY/T 2539 数据文件。",
                     f"The directory {self.directory.name} holds none of the NY/T 2539 files.",
                     accepted=("、".join(FILE_ORDER), ", ".join(FILE_ORDER)))
            return
        tables = {}
        for name in TABLES:
            if name in found:
                table = read_csv(found[name], name, self.issues)
                if table is not None:
                    tables[name] = table
                    self.files[name] = table.encoding
        features = {}
        for name, key in GEOJSON.items():
            if name in found:
                features[name] = self._read_geojson(found[name], name, key)
                self.files[name] = "UTF-8"
        self._load_db_divisions(tables)
        self._divisions(tables.get("XZQH.csv"))
        self._fbf(tables.get("FBF.csv"))
        self._cbf(tables.get("CBF.csv"))
        self._members(tables.get("CBF_JTCY.csv"))
        self._parcels(tables.get("DK.csv"))
        self._geometries("DK.geojson", features.get("DK.geojson"), self.parcels, "DKBM", "SCMJ",
                         "DK.csv" in tables)
        self._contracts(tables.get("CBHT.csv"))
        self._holdings(tables.get("CBDKXX.csv"))
        self._homesteads(tables.get("ZJD.csv"))
        self._geometries("ZJD.geojson", features.get("ZJD.geojson"), self.homesteads, "ZDDM", "MJ", False)
        self._assets(tables.get("JTZC.csv"))
        self._overlaps()

    def _read_geojson(self, path: Path, name: str, key: str) -> dict[str, tuple[int, Any]] | None:
        try:
            document = json.loads(path.read_bytes().decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError) as exc:
            self.bad(name, None, "文件 file", "GEOJSON", f"文件不是 UTF-8 编码的 JSON：{str(exc)[:120]}",
                     f"The file is not UTF-8 JSON: {str(exc)[:120]}", accepted="GEOMETRY")
            return None
        if not isinstance(document, dict) or document.get("type") != "FeatureCollection" \
                or not isinstance(document.get("features"), list):
            self.bad(name, None, "type", "GEOJSON", "文件应为 GeoJSON FeatureCollection。",
                     "The file must be a GeoJSON FeatureCollection.", accepted="GEOMETRY")
            return None
        result = {}
        for position, feature in enumerate(document["features"], start=1):
            properties = (feature or {}).get("properties") if isinstance(feature, dict) else None
            properties = {str(k).upper(): v for k, v in (properties or {}).items()} if isinstance(properties, dict) else {}
            value = str(properties.get(key) or "").strip()
            if not value:
                self.bad(name, position, key, "REQUIRED", f"要素的属性中没有 {key}。", f"The feature has no {key} property.",
                         accepted=key if key in ACCEPTED else "TEXT")
                continue
            if value in result:
                self.bad(name, position, key, "DUPLICATE-CODE",
                         f"{key} {value} 的图形重复（另见第 {result[value][0]} 个要素）。",
                         f"{key} {value} has more than one geometry (see also feature {result[value][0]}).", accepted=key)
                continue
            result[value] = (position, feature.get("geometry"))
        return result

    def _load_db_divisions(self, tables: dict[str, Table]) -> None:
        """The registered divisions the files may refer to: their codes and every ancestor's."""
        codes = set()
        for name, column in (("XZQH.csv", "XZQDM"), ("FBF.csv", "FBFBM")):
            for _line, row in tables[name].rows if name in tables else []:
                value = row.get(column, "")
                for length in (6, 9, 12, 14):
                    if len(value) >= length:
                        codes.add(value[:length])
        codes = sorted(codes)
        for start in range(0, len(codes), 500):
            for division in db.session.scalars(select(Division).where(Division.code.in_(codes[start:start + 500]))):
                self.db_divisions[division.code] = division

    def division_known(self, code: str) -> bool:
        return code in self.divisions or code in self.db_divisions

    def division_name(self, code: str) -> str:
        rec = self.divisions.get(code)
        return rec.name if rec else self.db_divisions[code].name

    def _divisions(self, table: Table | None) -> None:
        if table is None:
            return
        rows = []
        for line, row in table.rows:
            code, name = row["XZQDM"], row["XZQMC"]
            if not (code.isascii() and code.isdigit() and len(code) in (6, 9, 12, 14)):
                self.bad(table.name, line, "XZQDM", "CODE-LENGTH",
                         f"行政区划代码“{code[:30]}”有 {len(code)} 位。", f"The division code '{code[:30]}' has {len(code)} characters.")
                continue
            if self.duplicate(table.name, line, "XZQDM", code, "division"):
                continue
            if not name or len(name) > 100:
                self.bad(table.name, line, "XZQMC", "REQUIRED", "行政区划名称应为 1–100 个字。",
                         "The division name must have 1–100 characters.", accepted="TEXT")
                continue
            rows.append((line, code, name))
        for line, code, name in sorted(rows, key=lambda r: len(r[1])):
            existing = self.db_divisions.get(code)
            if existing is not None and existing.name != name:
                self.bad(table.name, line, "XZQMC", "CONFLICT",
                         f"行政区划 {code} 已登记为“{existing.name}”，与“{name}”不符；已登记的名称不能通过导入修改。",
                         f"Division {code} is registered as '{existing.name}', not '{name}'; an import cannot rename it.",
                         accepted="TEXT")
                continue
            if existing is None and not self.within(code):
                self.bad(table.name, line, "XZQDM", "OUTSIDE-JURISDICTION",
                         f"行政区划 {code} 不在您的管辖范围 {self.jurisdiction} 内。",
                         f"Division {code} lies outside your jurisdiction {self.jurisdiction}.")
                continue
            parent = {9: 6, 12: 9, 14: 12}.get(len(code))
            if parent and not self.division_known(code[:parent]):
                self.bad(table.name, line, "XZQDM", "UNKNOWN-DIVISION",
                         f"上级行政区划 {code[:parent]} 既未登记，也不在本文件中。",
                         f"The parent division {code[:parent]} is neither registered nor in this file.")
                continue
            self.divisions[code] = _DivisionRec(line, code, name)

    def _fbf(self, table: Table | None) -> None:
        if table is None:
            return
        by_collective: dict[str, _CollectiveRec] = {}
        for line, row in table.rows:
            code = self.code(table.name, line, row, "FBFBM", 14)
            if code is None or self.duplicate(table.name, line, "FBFBM", code, "fbf"):
                continue
            name = self.required(table.name, line, row, "FBFMC")
            if name is None:
                continue
            if not self.within(code):
                self.bad(table.name, line, "FBFBM", "OUTSIDE-JURISDICTION",
                         f"发包方 {code} 不在您的管辖范围 {self.jurisdiction} 内。",
                         f"The 发包方 {code} lies outside your jurisdiction {self.jurisdiction}.")
                continue
            village = code[:12]
            if not self.division_known(village):
                self.bad(table.name, line, "FBFBM", "UNKNOWN-DIVISION",
                         f"发包方编码前 12 位的村 {village} 未登记，也不在 XZQH.csv 中。",
                         f"The village {village} (the first 12 digits) is neither registered nor in XZQH.csv.")
                continue
            division_code = village if code.endswith("00") else code
            if not self.division_known(division_code):
                # a villagers' group the registry does not know yet: named after the 发包方 (金山村一组 → 一组)
                village_name = self.division_name(village)
                group_name = name[len(village_name):] if name.startswith(village_name) and name != village_name else name
                self.divisions[division_code] = _DivisionRec(None, division_code, group_name[:100])
            credit = row.get("TYSHXYDM", "")
            derived = not credit
            if derived:
                credit = derived_credit_code(code)
                self.warn(table.name, line, "TYSHXYDM", "CREDIT-CODE-DERIVED",
                          f"未提供统一社会信用代码，已按发包方编码生成占位代码 {credit}。",
                          f"No credit code was given; the placeholder {credit} was derived from the 发包方 code.")
            else:
                try:
                    credit = validate_uscc(credit, "TYSHXYDM")
                except IdentifierError as error:
                    self.bad(table.name, line, "TYSHXYDM", error.code, error.message_zh, error.message_en)
                    continue
            level = credit[:2] if credit[0] == "N" else ""
            collective_division = {"N1": code, "N2": village, "N3": code[:9]}.get(level, division_code)
            if not self.division_known(collective_division):
                self.bad(table.name, line, "TYSHXYDM", "UNKNOWN-DIVISION",
                         f"集体经济组织（{level or '代码'}）所在的行政区划 {collective_division} 未登记。",
                         f"The collective's division {collective_division} is not registered.")
                continue
            collective_name = row.get("JTJJZZMC") or name
            rec = by_collective.get(credit)
            if rec is None:
                rec = by_collective[credit] = _CollectiveRec(line, credit, collective_name[:200], collective_division, derived)
            elif rec.name != collective_name or rec.division_code != collective_division:
                self.bad(table.name, line, "JTJJZZMC", "CONFLICT",
                         f"同一统一社会信用代码 {credit} 在第 {rec.line} 行对应“{rec.name}”（{rec.division_code}），"
                         f"本行为“{collective_name}”（{collective_division}）。",
                         f"The credit code {credit} is '{rec.name}' ({rec.division_code}) on line {rec.line} but "
                         f"'{collective_name}' ({collective_division}) here.", accepted="TEXT")
                continue
            self.fbfs[code] = _FbfRec(line, code, name, division_code, credit)
        self.collectives = by_collective

    def fbf_of(self, file: str, line: int, row: dict, own_code: str, column: str) -> _FbfRec | None:
        """The 发包方 a code belongs to (its first 14 digits), checked against an FBFBM column if there is one."""
        fbf = own_code[:14]
        given = row.get("FBFBM", "")
        if given and given != fbf:
            self.bad(file, line, "FBFBM", "CODE-MISMATCH", f"FBFBM {given} 与 {column} 的前 14 位 {fbf} 不一致。",
                     f"FBFBM {given} differs from the first 14 digits of {column}, {fbf}.", accepted="FBFBM")
            return None
        if fbf not in self.present["fbf"]:
            self.bad(file, line, column, "UNKNOWN-FBF", f"{column} {own_code} 所属的发包方 {fbf} 不在 FBF.csv 中。",
                     f"The 发包方 {fbf} of {column} {own_code} is not in FBF.csv.",
                     accepted=("FBF.csv 中列出的发包方编码开头的编码",
                      "a code starting with a 发包方 code listed in FBF.csv"))
            return None
        return self.fbfs.get(fbf)  # None: the FBF row itself is bad and reported

    def _cbf(self, table: Table | None) -> None:
        if table is None:
            return
        for line, row in table.rows:
            code = self.code(table.name, line, row, "CBFBM", 18)
            if code is None or self.duplicate(table.name, line, "CBFBM", code, "cbf"):
                continue
            fbf = self.fbf_of(table.name, line, row, code, "CBFBM")
            name = self.required(table.name, line, row, "CBFMC")
            if fbf is None or name is None:
                continue
            if ledger_takes_for_resident_id(code):
                self.bad(table.name, line, "CBFBM", "LEDGER-ID-LOOKALIKE",
                         f"承包方编码 {code} 的第 7–14 位恰好是有效日期且校验位吻合，账本会把它当作明文身份证号码而拒绝记录；"
                         "这是账本识别规则的局限，请联系平台管理员。",
                         f"The 承包方 code {code} reads as a resident ID (digits 7–14 form a date and the check digit "
                         "fits), so the ledger refuses to record it; a limitation of the ledger's guard — contact the "
                         "platform administrator.", accepted=("—", "—"))
                continue
            if row.get("CBFLX", "") not in ("", "1"):
                self.bad(table.name, line, "CBFLX", "VALUE", f"承包方类型“{row['CBFLX']}”不能导入：只登记农户（1）。",
                         f"承包方 type '{row['CBFLX']}' cannot be imported: only households (1) are registered.")
                continue
            head_id = None
            if row.get("CBFZJHM"):
                if row.get("CBFZJLX", "") not in ID_TYPES:
                    self.bad(table.name, line, "CBFZJLX", "VALUE", f"证件类型“{row['CBFZJLX']}”不能导入。",
                             f"Identity document type '{row['CBFZJLX']}' cannot be imported.", accepted="ID_TYPE")
                    continue
                head_id = self.resident_id(table.name, line, "CBFZJHM", row["CBFZJHM"])
                if head_id is None:
                    continue
            declared = None
            if row.get("CBFCYSL"):
                declared = int(row["CBFCYSL"]) if row["CBFCYSL"].isascii() and row["CBFCYSL"].isdigit() else -1
                if declared < 0:
                    self.bad(table.name, line, "CBFCYSL", "VALUE", f"成员数量“{row['CBFCYSL']}”不是整数。",
                             f"The member count '{row['CBFCYSL']}' is not a whole number.", accepted="COUNT")
                    continue
            self.households[code] = _HouseholdRec(line, code, fbf.code, name[:100], row.get("CBFDZ") or None,
                                                  head_id, declared)

    def resident_id(self, file: str, line: int, column: str, value: str) -> str | None:
        try:
            return validate_resident_id(value, column)
        except IdentifierError as error:
            clean = value.strip().upper()
            masked = mask_resident_id(clean) if len(clean) == 18 else f"{len(clean)} 位/characters"
            if error.code == "ID-CHECK-DIGIT":
                expected = resident_id_check_char(clean[:17])
                zh = f"身份证号码 {masked} 的校验码应为“{expected}”，不是“{clean[17]}”；请核对号码。"
                en = f"The check character of resident ID {masked} should be '{expected}', not '{clean[17]}'; check the number."
            elif error.code == "ID-BIRTH-DATE":
                zh = f"身份证号码 {masked} 第 7–14 位不是有效的出生日期。"
                en = f"Characters 7–14 of resident ID {masked} are not a valid birth date."
            else:
                zh = f"身份证号码应为 18 位（17 位数字 + 校验码），收到 {len(clean)} 位或含非法字符。"
                en = f"A resident ID has 18 characters (17 digits + a check character); got {len(clean)} or invalid characters."
            self.bad(file, line, column, error.code, zh, en, accepted="ID")
            return None

    def _members(self, table: Table | None) -> None:
        if table is None:
            return
        ids: dict[str, tuple[int, str]] = {}
        for line, row in table.rows:
            cbf = self.code(table.name, line, row, "CBFBM", 18)
            if cbf is None:
                continue
            if cbf not in self.present["cbf"]:
                self.bad(table.name, line, "CBFBM", "UNKNOWN-CBF", f"承包方 {cbf} 不在 CBF.csv 中。",
                         f"The 承包方 {cbf} is not in CBF.csv.", accepted=("CBF.csv 中的承包方编码", "a 承包方 code in CBF.csv"))
                continue
            name = self.required(table.name, line, row, "CYXM")
            if name is None:
                continue
            if row.get("CYZJLX", "") not in ID_TYPES:
                self.bad(table.name, line, "CYZJLX", "VALUE", f"证件类型“{row['CYZJLX']}”不能导入。",
                         f"Identity document type '{row['CYZJLX']}' cannot be imported.", accepted="ID_TYPE")
                continue
            number = self.resident_id(table.name, line, "CYZJHM", row["CYZJHM"])
            if number is None:
                continue
            if number in ids:
                self.bad(table.name, line, "CYZJHM", "DUPLICATE-ID",
                         f"身份证号码 {mask_resident_id(number)} 已在第 {ids[number][0]} 行（承包方 {ids[number][1]}）出现。",
                         f"Resident ID {mask_resident_id(number)} already appears on line {ids[number][0]} "
                         f"(承包方 {ids[number][1]}).", accepted="ID")
                continue
            ids[number] = (line, cbf)
            sex = SEXES.get(row.get("CYXB", "")) if row.get("CYXB") else ("1" if int(number[16]) % 2 else "2")
            if sex is None:
                self.bad(table.name, line, "CYXB", "VALUE", f"性别“{row['CYXB']}”无效。", f"Sex '{row['CYXB']}' is not valid.")
                continue
            relation = row["YHZGX"]
            if relation.isascii() and relation.isdigit():
                relation = RELATIONS.get(relation.zfill(2))
            if not relation or len(relation) > 20:
                self.bad(table.name, line, "YHZGX", "VALUE", f"与户主关系“{row['YHZGX'][:30]}”无效。",
                         f"The relation '{row['YHZGX'][:30]}' is not valid.")
                continue
            birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
            if row.get("CSRQ"):
                birth = parse_date(row["CSRQ"])
                if birth is None:
                    self.bad(table.name, line, "CSRQ", "DATE", f"出生日期“{row['CSRQ'][:20]}”无效。",
                             f"The birth date '{row['CSRQ'][:20]}' is not valid.", accepted="DATE")
                    continue
            household = self.households.get(cbf)
            if household is not None:
                household.members.append(_MemberRec(line, name[:100], sex, relation, number,
                                                    self.pii.lookup_hash(number), birth))
        for household in self.households.values():
            if not household.members:
                self.bad("CBF.csv", household.line, "CBF_JTCY", "MEMBERS-MISSING",
                         f"承包方 {household.code} 在 CBF_JTCY.csv 中没有家庭成员。",
                         f"The 承包方 {household.code} has no family members in CBF_JTCY.csv.",
                         accepted=("CBF_JTCY.csv 中至少一行该承包方的成员", "at least one member row for it in CBF_JTCY.csv"))
                continue
            if household.head_id and household.head_id not in {m.id_number for m in household.members}:
                self.warn("CBF.csv", household.line, "CBFZJHM", "HEAD-NOT-MEMBER",
                          "承包方代表的身份证号码不在其家庭成员中。",
                          "The representative's resident ID is not among the family members.")
            if household.declared_members is not None and household.declared_members != len(household.members):
                self.warn("CBF.csv", household.line, "CBFCYSL", "COUNT-MISMATCH",
                          f"成员数量为 {household.declared_members}，CBF_JTCY.csv 中有 {len(household.members)} 人。",
                          f"CBFCYSL says {household.declared_members}; CBF_JTCY.csv lists {len(household.members)}.")

    def _parcels(self, table: Table | None) -> None:
        if table is None:
            return
        for line, row in table.rows:
            code = self.code(table.name, line, row, "DKBM", 19)
            if code is None or self.duplicate(table.name, line, "DKBM", code, "parcel"):
                continue
            fbf = self.fbf_of(table.name, line, row, code, "DKBM")
            name = self.required(table.name, line, row, "DKMC")
            if fbf is None or name is None:
                continue
            area = self.area(table.name, line, row, "SCMJ", required=True)
            if area is None:
                continue
            if row["TDYT"] not in LAND_USES:
                self.bad(table.name, line, "TDYT", "VALUE", f"土地用途“{row['TDYT'][:10]}”无效。",
                         f"The land use '{row['TDYT'][:10]}' is not valid.")
                continue
            land_class = LAND_CLASS_BY_PREFIX.get(row["TDLYLX"][:2]) if row["TDLYLX"].isdigit() else None
            if land_class is None or len(row["TDLYLX"]) not in (3, 4):
                self.bad(table.name, line, "TDLYLX", "VALUE", f"土地利用类型“{row['TDLYLX'][:10]}”不能作为承包地导入。",
                         f"The land-use type '{row['TDLYLX'][:10]}' cannot be imported as contract land.")
                continue
            category = row.get("DKLB") or "10"
            if category not in PARCEL_CATEGORIES:
                self.bad(table.name, line, "DKLB", "VALUE", f"地块类别“{category[:10]}”无效。",
                         f"The parcel category '{category[:10]}' is not valid.")
                continue
            farmland = row.get("SFJBNT", "")
            if farmland not in ("", "1", "2", "是", "否"):
                self.bad(table.name, line, "SFJBNT", "VALUE", f"是否基本农田“{farmland[:10]}”无效。",
                         f"SFJBNT '{farmland[:10]}' is not valid.")
                continue
            boundaries = {side: row.get(column) or None
                          for side, column in (("east", "DKDZ"), ("south", "DKNZ"), ("west", "DKXZ"), ("north", "DKBZ"))}
            self.parcels[code] = _ParcelRec(line, code, fbf.code, name[:100], area, land_class, row["TDYT"], category,
                                            farmland in ("1", "是"), boundaries)

    def area(self, file: str, line: int, row: dict, column: str, required: bool) -> Decimal | None:
        value = row.get(column, "")
        if not value and not required:
            return None
        number = parse_decimal(value) if value else None
        if number is None or number <= 0 or number >= Decimal("1e12"):
            self.bad(file, line, column, "VALUE", f"{column}“{value[:20]}”不是大于 0 的面积。",
                     f"{column} '{value[:20]}' is not an area above 0.", accepted="AREA")
            return None
        return number.quantize(_TWO_PLACES, ROUND_HALF_UP)

    def _geometries(self, name: str, features: dict | None, records: dict, key: str, area_column: str,
                    required: bool) -> None:
        if features is None:
            if required and records:
                if name not in self.files:
                    self.bad(name, None, "文件 file", "MISSING-FILE", f"缺少 {name}：地块需要图形。",
                             f"{name} is missing: parcels need their polygons.", accepted="GEOMETRY")
                records.clear()  # nothing can be registered without its polygon
            return
        csv_name = name.replace(".geojson", ".csv")
        with self.progress("检查图形 checking geometry", len(features)) as bar:
            for value, (position, geometry) in features.items():
                bar.update(1)
                rec = records.get(value)
                if rec is None:
                    if value not in self.present["parcel" if key == "DKBM" else "homestead"]:
                        self.bad(name, position, key, "UNKNOWN-CODE", f"{key} {value} 不在 {csv_name} 中。",
                                 f"{key} {value} is not in {csv_name}.", accepted=key)
                    continue
                problem = geometry_problem(geometry)
                if problem:
                    self.bad(name, position, "geometry", "GEOMETRY-INVALID", f"{key} {value}：{problem[0]}",
                             f"{key} {value}: {problem[1]}", accepted="GEOMETRY")
                    records.pop(value)
                    continue
                computed = Decimal(geometry_area_m2(geometry)).quantize(_TWO_PLACES)
                if abs(computed - rec.area) > rec.area * Decimal(str(self.tolerance)):
                    self.bad(csv_name, rec.line, area_column, "AREA-MISMATCH",
                             f"{key} {value} 的图形面积为 {computed} 平方米，与 {area_column} {rec.area} 相差超过 "
                             f"{self.tolerance:.0%}。",
                             f"The polygon of {key} {value} measures {computed} m², more than {self.tolerance:.0%} off "
                             f"{area_column} {rec.area}.", accepted=(f"与图形面积相差不超过 {self.tolerance:.0%} 的面积（平方米）",
                              f"an area (m²) within {self.tolerance:.0%} of the polygon's"))
                    records.pop(value)
                    continue
                rec.geometry, rec.feature = geometry, position
        if key == "DKBM":
            for code in [c for c, rec in records.items() if rec.geometry is None]:
                rec = records.pop(code)
                self.bad(csv_name, rec.line, "geometry", "GEOMETRY-MISSING", f"地块 {code} 在 {name} 中没有图形。",
                         f"Parcel {code} has no polygon in {name}.", accepted="GEOMETRY")

    def _contracts(self, table: Table | None) -> None:
        if table is None:
            return
        for line, row in table.rows:
            code = self.required(table.name, line, row, "CBHTBM")
            if code is None:
                continue
            if not re.fullmatch(r"\d{18}[0-9A-Z]", code):
                self.bad(table.name, line, "CBHTBM", "CODE-LENGTH", f"承包合同编码“{code[:30]}”格式不对（{len(code)} 位）。",
                         f"The contract code '{code[:30]}' is malformed ({len(code)} characters).")
                continue
            if self.duplicate(table.name, line, "CBHTBM", code, "contract"):
                continue
            cbf = self.code(table.name, line, row, "CBFBM", 18)
            if cbf is None:
                continue
            if cbf not in self.present["cbf"]:
                self.bad(table.name, line, "CBFBM", "UNKNOWN-CBF", f"承包方 {cbf} 不在 CBF.csv 中。",
                         f"The 承包方 {cbf} is not in CBF.csv.", accepted=("CBF.csv 中的承包方编码", "a 承包方 code in CBF.csv"))
                continue
            if self.fbf_of(table.name, line, row, cbf, "CBFBM") is None:
                continue
            if not code.startswith(cbf):
                self.warn(table.name, line, "CBHTBM", "CODE-MISMATCH",
                          f"承包合同编码 {code} 的前 18 位不是承包方编码 {cbf}。",
                          f"The first 18 characters of contract {code} are not the 承包方 code {cbf}.")
            start, end = parse_date(row["CBQXQ"]), parse_date(row["CBQXZ"])
            for column, value in (("CBQXQ", start), ("CBQXZ", end)):
                if value is None:
                    self.bad(table.name, line, column, "DATE", f"{column}“{row[column][:20]}”不是有效日期。",
                             f"{column} '{row[column][:20]}' is not a valid date.", accepted="DATE")
            if start is None or end is None:
                continue
            if end <= start:
                self.bad(table.name, line, "CBQXZ", "TERM-ORDER",
                         f"承包期限止 {end} 不晚于承包期限起 {start}。", f"The term ends on {end}, not after it starts on {start}.",
                         accepted=(f"晚于 {start} 的日期",
                          f"a date after {start}"))
                continue
            declared = row.get("CBDKZS", "")
            self.contracts[code] = _ContractRec(line, code, cbf, start, end,
                                                int(declared) if declared.isascii() and declared.isdigit() else None)

    def _holdings(self, table: Table | None) -> None:
        if table is None:
            return
        seen: dict[str, int] = {}
        for line, row in table.rows:
            parcel = self.code(table.name, line, row, "DKBM", 19)
            cbf = self.code(table.name, line, row, "CBFBM", 18)
            contract = self.required(table.name, line, row, "CBHTBM")
            if parcel is None or cbf is None or contract is None:
                continue
            if parcel in seen:
                self.bad(table.name, line, "DKBM", "DUPLICATE-CODE",
                         f"地块 {parcel} 已在第 {seen[parcel]} 行发包；一个地块只能有一份承包合同。",
                         f"Parcel {parcel} is already contracted on line {seen[parcel]}; a parcel has one contract.",
                         accepted="DKBM")
                continue
            seen[parcel] = line
            problems = []
            if self.fbf_of(table.name, line, row, parcel, "DKBM") is None:
                continue
            if parcel not in self.present["parcel"]:
                problems.append(("DKBM", "UNKNOWN-PARCEL", f"地块 {parcel} 不在 DK.csv 中。", f"Parcel {parcel} is not in DK.csv.",
                                 "DK.csv 中的地块编码", "a parcel code in DK.csv"))
            if cbf not in self.present["cbf"]:
                problems.append(("CBFBM", "UNKNOWN-CBF", f"承包方 {cbf} 不在 CBF.csv 中。", f"The 承包方 {cbf} is not in CBF.csv.",
                                 "CBF.csv 中的承包方编码", "a 承包方 code in CBF.csv"))
            if contract not in self.present["contract"]:
                problems.append(("CBHTBM", "UNKNOWN-CONTRACT", f"承包合同 {contract} 不在 CBHT.csv 中。",
                                 f"Contract {contract} is not in CBHT.csv.", "CBHT.csv 中的承包合同编码",
                                 "a contract code in CBHT.csv"))
            for column, code, zh, en, acc_zh, acc_en in problems:
                self.issues.append(Issue(table.name, line, column, code, zh, en, acc_zh, acc_en))
            if problems:
                continue
            rec, household, land = self.contracts.get(contract), self.households.get(cbf), self.parcels.get(parcel)
            if rec is None or household is None or land is None:
                continue  # the contract, household or parcel row is itself bad and reported
            if rec.cbf != cbf:
                self.bad(table.name, line, "CBFBM", "CODE-MISMATCH", f"承包合同 {contract} 的承包方是 {rec.cbf}，不是 {cbf}。",
                         f"Contract {contract} belongs to 承包方 {rec.cbf}, not {cbf}.", accepted=(rec.cbf, rec.cbf))
                continue
            if self.fbfs[land.fbf].collective != self.fbfs[household.fbf].collective:
                self.bad(table.name, line, "CBFBM", "LAND-OUTSIDER-CONTRACT",
                         f"承包方 {cbf} 不是地块 {parcel} 所属集体经济组织的成员户；向本集体以外发包须经三分之二成员同意"
                         "并报乡镇批准，不能批量导入（农村土地承包法第52条）。",
                         f"承包方 {cbf} is not a household of the collective that owns parcel {parcel}; contracting to an "
                         "outsider needs a 2/3 resolution and township approval and cannot be bulk-imported (Art 52).")
                continue
            rec.parcels.append(parcel)
            self.holdings.append(_HoldingRec(line, parcel, cbf, contract))
        for rec in self.contracts.values():
            if rec.declared_parcels is not None and rec.declared_parcels != len(rec.parcels):
                self.warn("CBHT.csv", rec.line, "CBDKZS", "COUNT-MISMATCH",
                          f"承包地块总数为 {rec.declared_parcels}，CBDKXX.csv 中有 {len(rec.parcels)} 块。",
                          f"CBDKZS says {rec.declared_parcels}; CBDKXX.csv lists {len(rec.parcels)}.")

    def _homesteads(self, table: Table | None) -> None:
        if table is None:
            return
        for line, row in table.rows:
            code = self.required(table.name, line, row, "ZDDM")
            if code is None:
                continue
            if not re.fullmatch(r"[0-9A-Z]{19}", code):
                self.bad(table.name, line, "ZDDM", "CODE-LENGTH", f"宗地代码“{code[:30]}”格式不对（{len(code)} 位）。",
                         f"The plot code '{code[:30]}' is malformed ({len(code)} characters).")
                continue
            if self.duplicate(table.name, line, "ZDDM", code, "homestead"):
                continue
            fbf_code = self.code(table.name, line, row, "FBFBM", 14)
            if fbf_code is None:
                continue
            if fbf_code not in self.present["fbf"]:
                self.bad(table.name, line, "FBFBM", "UNKNOWN-FBF", f"发包方 {fbf_code} 不在 FBF.csv 中。",
                         f"The 发包方 {fbf_code} is not in FBF.csv.", accepted="FBFBM")
                continue
            cbf = row.get("CBFBM") or None
            if cbf is not None and cbf not in self.present["cbf"]:
                self.bad(table.name, line, "CBFBM", "UNKNOWN-CBF", f"承包方 {cbf} 不在 CBF.csv 中。",
                         f"The 承包方 {cbf} is not in CBF.csv.", accepted="CBFBM")
                continue
            area = self.area(table.name, line, row, "MJ", required=True)
            floor_area = self.area(table.name, line, row, "FWJZMJ", required=False) if row.get("FWJZMJ") else None
            if area is None or (row.get("FWJZMJ") and floor_area is None) or fbf_code not in self.fbfs:
                continue
            if cbf is not None and cbf in self.households \
                    and self.households[cbf].fbf[:12] != fbf_code[:12]:
                self.bad(table.name, line, "CBFBM", "CODE-MISMATCH", f"承包方 {cbf} 不属于发包方 {fbf_code} 所在的村。",
                         f"The 承包方 {cbf} does not belong to the village of 发包方 {fbf_code}.", accepted="CBFBM")
                continue
            self.homesteads[code] = _HomesteadRec(line, code, fbf_code, cbf, area, floor_area,
                                                  (row.get("FWJG") or None), row.get("ZL") or None)

    def _assets(self, table: Table | None) -> None:
        if table is None:
            return
        for line, row in table.rows:
            code = self.required(table.name, line, row, "ZCBM")
            if code is None:
                continue
            if not re.fullmatch(r"[0-9A-Za-z-]{1,32}", code):
                self.bad(table.name, line, "ZCBM", "CODE-LENGTH", f"资产编码“{code[:40]}”格式不对。",
                         f"The asset code '{code[:40]}' is malformed.")
                continue
            if self.duplicate(table.name, line, "ZCBM", code, "asset"):
                continue
            credit = row.get("TYSHXYDM", "")
            if not credit and row.get("FBFBM"):
                fbf = self.fbfs.get(row["FBFBM"])
                if fbf is None:
                    if row["FBFBM"] not in self.present["fbf"]:
                        self.bad(table.name, line, "FBFBM", "UNKNOWN-FBF", f"发包方 {row['FBFBM']} 不在 FBF.csv 中。",
                                 f"The 发包方 {row['FBFBM']} is not in FBF.csv.", accepted="FBFBM")
                    continue
                credit = fbf.collective
            if not credit:
                self.bad(table.name, line, "TYSHXYDM", "REQUIRED", "请填写集体经济组织的统一社会信用代码（TYSHXYDM）或发包方编码（FBFBM）。",
                         "Give the collective's credit code (TYSHXYDM) or a 发包方 code (FBFBM).", accepted="TYSHXYDM")
                continue
            credit = credit.strip().upper()
            if credit not in self.collectives:
                self.present["asset_collective"].add(credit)  # resolved against the registry later
            name, category = self.required(table.name, line, row, "ZCMC"), self.required(table.name, line, row, "ZCFL")
            asset_class = ASSET_CLASSES.get(row["ZCLB"])
            if asset_class is None:
                self.bad(table.name, line, "ZCLB", "VALUE", f"资产类别“{row['ZCLB'][:20]}”无效。",
                         f"The asset class '{row['ZCLB'][:20]}' is not valid.")
            status = ASSET_STATUSES.get(row.get("ZT") or "idle")
            if status is None:
                self.bad(table.name, line, "ZT", "VALUE", f"状态“{row['ZT'][:20]}”无效。", f"The status '{row['ZT'][:20]}' is not valid.")
            area = self.area(table.name, line, row, "MJ", required=False) if row.get("MJ") else None
            value = parse_decimal(row.get("ZMJZ") or "0")
            if value is None or value < 0:
                self.bad(table.name, line, "ZMJZ", "VALUE", f"账面价值“{row['ZMJZ'][:20]}”无效。",
                         f"The book value '{row['ZMJZ'][:20]}' is not valid.", accepted="MONEY")
            ratio = parse_decimal(row["RJL"]) if row.get("RJL") else None
            if row.get("RJL") and (ratio is None or ratio < 0):
                self.bad(table.name, line, "RJL", "VALUE", f"容积率“{row['RJL'][:20]}”无效。",
                         f"The plot ratio '{row['RJL'][:20]}' is not valid.", accepted="COUNT")
                continue
            if None in (name, category, asset_class, status, value) or (row.get("MJ") and area is None):
                continue
            details = {k: v for k, v in (("planned_use", row.get("GHYT") or None),
                                         ("plot_ratio", float(ratio) if ratio is not None else None)) if v is not None}
            self.assets[code] = _AssetRec(line, code, name[:200], credit, asset_class, category[:50], area,
                                          value.quantize(_TWO_PLACES), row.get("LY") or None, row.get("ZL") or None,
                                          status, details or None)

    def _overlaps(self) -> None:
        by_fbf: dict[str, list[_ParcelRec]] = defaultdict(list)
        for rec in self.parcels.values():
            by_fbf[rec.fbf].append(rec)
        with self.progress("检查重叠 checking overlaps", len(by_fbf)) as bar:
            for fbf, records in by_fbf.items():
                bar.update(1)
                lat0 = math.radians(records[0].geometry["coordinates"][0][0][1]
                                    if records[0].geometry["type"] == "Polygon"
                                    else records[0].geometry["coordinates"][0][0][0][1])
                shapes = [_shape(r.code, r.geometry, lat0) for r in records]
                in_file = {r.code for r in records}
                for code, geometry in db.session.execute(
                        select(Parcel.code, Parcel.geometry).where(Parcel.code >= fbf, Parcel.code < fbf + ":")):
                    if code not in in_file and not geometry_problem(geometry):
                        shapes.append(_shape(code, geometry, lat0, new=False))
                for first, second, area in overlapping_pairs(shapes):
                    rec = self.parcels[second.code] if second.new else self.parcels[first.code]
                    other = first if second.new else second
                    where = f"（第 {self.parcels[other.code].feature} 个要素）" if other.new else "（已登记）"
                    where_en = f" (feature {self.parcels[other.code].feature})" if other.new else " (registered)"
                    self.bad("DK.geojson", rec.feature, "geometry", "OVERLAP",
                             f"地块 {rec.code} 与同一发包方的地块 {other.code}{where}重叠约 {area:.2f} 平方米。",
                             f"Parcel {rec.code} overlaps parcel {other.code}{where_en} of the same 发包方 by about "
                             f"{area:.2f} m².", accepted=("与同一发包方的其他地块不重叠（可共边）的多边形",
                              "a polygon that does not overlap (may share edges with) the 发包方's other parcels"))


# --- comparing with what is registered ------------------------------------------------------------------------------


def _chunks(values: list, size: int = 500) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


@dataclass
class _Plan:
    """What the write phase creates; existing objects it refers to."""

    divisions: list[_DivisionRec] = field(default_factory=list)
    collectives: list[_CollectiveRec] = field(default_factory=list)
    households: list[_HouseholdRec] = field(default_factory=list)
    parcels: list[_ParcelRec] = field(default_factory=list)
    holdings: list[_HoldingRec] = field(default_factory=list)
    homesteads: list[_HomesteadRec] = field(default_factory=list)
    assets: list[_AssetRec] = field(default_factory=list)
    existing_divisions: dict[str, Division] = field(default_factory=dict)
    existing_collectives: dict[str, Collective] = field(default_factory=dict)
    existing_households: dict[str, Household] = field(default_factory=dict)
    existing_parcels: dict[str, Parcel] = field(default_factory=dict)


class _Comparer:
    """Sorts every record into new, unchanged or conflicting with the registry (a conflict is a bad row)."""

    def __init__(self, checker: _Checker, report: ImportReport) -> None:
        self.c, self.report, self.plan = checker, report, _Plan()

    def conflict(self, file: str, line: int | None, column: str, what: str, code: str, differs: str) -> None:
        self.c.issues.append(Issue(
            file, line, column, "CONFLICT",
            f"{what} {code} 已登记，但与本行数据不同（{differs}）；已登记的数据不能通过导入修改，请办理更正登记。",
            f"{what} {code} is registered with different data ({differs}); an import cannot change registered data — "
            "use a correction.",
            "与已登记数据完全一致的行（重复导入时跳过），或新的编码",
            "a row identical to the registered data (skipped on re-import), or a new code"))

    def run(self) -> _Plan:
        c, plan = self.c, self.plan
        plan.existing_divisions = dict(c.db_divisions)
        for rec in c.divisions.values():
            if rec.code in c.db_divisions:
                self.report.unchanged["divisions"] += 1
            else:
                plan.divisions.append(rec)
        self._collectives()
        self._households()
        self._parcels()
        self._contracts()
        self._homesteads()
        self._assets()
        return plan

    def _collectives(self) -> None:
        c, plan = self.c, self.plan
        codes = sorted(set(c.collectives) | c.present["asset_collective"])
        for chunk in _chunks(codes):
            for collective in db.session.scalars(select(Collective).where(Collective.credit_code.in_(chunk))):
                plan.existing_collectives[collective.credit_code] = collective
        for code, rec in c.collectives.items():
            existing = plan.existing_collectives.get(code)
            if existing is None:
                plan.collectives.append(rec)
            elif existing.name != rec.name or existing.division.code != rec.division_code:
                self.conflict("FBF.csv", rec.line, "JTJJZZMC", "集体经济组织", code,
                              "名称 name" if existing.name != rec.name else "行政区划 division")
            else:
                self.report.unchanged["collectives"] += 1
        for asset in list(c.assets.values()):
            if asset.collective not in c.collectives:
                existing = plan.existing_collectives.get(asset.collective)
                if existing is None or not c.within(existing.division.code):
                    c.assets.pop(asset.code)
                    c.bad("JTZC.csv", asset.line, "TYSHXYDM", "UNKNOWN-COLLECTIVE",
                          f"集体经济组织 {asset.collective} 未登记，也不在 FBF.csv 中" + ("" if existing is None else "（或不在您的管辖范围内）") + "。",
                          f"The collective {asset.collective} is neither registered nor in FBF.csv"
                          + ("" if existing is None else " (or lies outside your jurisdiction)") + ".", accepted="TYSHXYDM")

    def _collective_of(self, fbf_code: str) -> str:
        return self.c.fbfs[fbf_code].collective

    def _households(self) -> None:
        c, plan = self.c, self.plan
        for fbf in sorted({h.fbf for h in c.households.values()}):
            for household in db.session.scalars(
                    select(Household).where(Household.code >= fbf, Household.code < fbf + ":")
                    .options(selectinload(Household.members), selectinload(Household.collective))):
                plan.existing_households[household.code] = household
        hashes = sorted({m.id_hash for h in c.households.values() for m in h.members})
        owners: dict[str, str | None] = {}
        for chunk in _chunks(hashes):
            for id_hash, code in db.session.execute(
                    select(Person.id_number_hash, Household.code).outerjoin(Household, Person.household_id == Household.id)
                    .where(Person.id_number_hash.in_(chunk))):
                owners[id_hash] = code
        for rec in c.households.values():
            fbf = c.fbfs[rec.fbf]
            clash = next((m for m in rec.members if m.id_hash in owners and owners[m.id_hash] != rec.code), None)
            if clash is not None:
                other = owners[clash.id_hash]
                c.issues.append(Issue(
                    "CBF_JTCY.csv", clash.line, "CYZJHM", "CONFLICT",
                    f"身份证号码 {mask_resident_id(clash.id_number)} 已登记在" + (f"承包方 {other} 名下。" if other else "其他登记中。"),
                    f"Resident ID {mask_resident_id(clash.id_number)} is already registered"
                    + (f" with 承包方 {other}." if other else "."), *ACCEPTED["ID"]))
                continue
            existing = plan.existing_households.get(rec.code)
            if existing is None:
                plan.households.append(rec)
                continue
            members = sorted((m.name, m.sex, m.relation, m.id_hash, m.birth) for m in rec.members)
            registered = sorted((p.name, p.sex, p.relation, p.id_number_hash, p.birth_date) for p in existing.members)
            differs = [label for label, same in (
                ("CBFMC", existing.head_name == rec.name), ("CBFDZ", (existing.address or None) == rec.address),
                ("FBFBM", existing.division.code == fbf.division_code
                 and existing.collective.credit_code == fbf.collective),
                ("CBF_JTCY", registered == members)) if not same]
            if differs:
                self.conflict("CBF.csv", rec.line, differs[0], "承包方", rec.code, "、".join(differs))
            else:
                self.report.unchanged["households"] += 1
                self.report.unchanged["persons"] += len(rec.members)

    def _parcels(self) -> None:
        c, plan = self.c, self.plan
        for fbf in sorted({p.fbf for p in c.parcels.values()}):
            for parcel in db.session.scalars(select(Parcel).where(Parcel.code >= fbf, Parcel.code < fbf + ":")):
                plan.existing_parcels[parcel.code] = parcel
        division_ids = {code: d.id for code, d in plan.existing_divisions.items()}
        collective_ids = {code: col.id for code, col in plan.existing_collectives.items()}
        for rec in c.parcels.values():
            existing = plan.existing_parcels.get(rec.code)
            if existing is None:
                plan.parcels.append(rec)
                continue
            fbf = c.fbfs[rec.fbf]
            differs = [label for label, same in (
                ("DKMC", existing.name == rec.name), ("SCMJ", Decimal(existing.area_m2) == rec.area),
                ("TDLYLX", existing.land_class == rec.land_class), ("TDYT", existing.land_use == rec.land_use),
                ("SFJBNT", existing.basic_farmland == rec.basic_farmland),
                ("DKDZ/DKNZ/DKXZ/DKBZ", existing.boundaries == rec.boundaries),
                ("geometry", existing.geometry == rec.geometry),
                ("FBFBM", existing.division_id == division_ids.get(fbf.division_code)
                 and existing.collective_id == collective_ids.get(fbf.collective))) if not same]
            if differs:
                self.conflict("DK.csv", rec.line, differs[0], "地块", rec.code, "、".join(differs))
            else:
                self.report.unchanged["parcels"] += 1

    def _contracts(self) -> None:
        c, plan = self.c, self.plan
        existing_ids = {plan.existing_parcels[h.parcel].id: h.parcel for h in c.holdings
                        if h.parcel in plan.existing_parcels}
        active: dict[str, Right] = {}
        for chunk in _chunks(sorted(existing_ids)):
            for right in db.session.scalars(
                    select(Right).where(Right.parcel_id.in_(chunk), Right.right_type == RightType.contract,
                                        Right.ended_at.is_(None))
                    .options(selectinload(Right.holders).selectinload(RightHolder.household))):
                active[existing_ids[right.parcel_id]] = right
        for holding in c.holdings:
            right = active.get(holding.parcel)
            if right is None:
                plan.holdings.append(holding)
                continue
            contract = c.contracts[holding.contract]
            holders = [h.household.code if h.household else None for h in right.holders]
            differs = [label for label, same in (
                ("CBFBM", holders == [holding.cbf]), ("CBQXQ", right.start_date == contract.start),
                ("CBQXZ", right.end_date == contract.end),
                ("CBHTBM", (right.terms or {}).get("contract_number") == holding.contract)) if not same]
            if differs:
                self.conflict("CBDKXX.csv", holding.line, differs[0], "地块的承包权", holding.parcel, "、".join(differs))
            else:
                self.report.unchanged["contracts"] += 1

    def _homesteads(self) -> None:
        c, plan = self.c, self.plan
        existing: dict[str, Homestead] = {}
        for chunk in _chunks(sorted(c.homesteads)):
            for homestead in db.session.scalars(select(Homestead).where(Homestead.code.in_(chunk))
                                                .options(selectinload(Homestead.household))):
                existing[homestead.code] = homestead
        division_ids = {code: d.id for code, d in plan.existing_divisions.items()}
        collective_ids = {code: col.id for code, col in plan.existing_collectives.items()}
        for rec in c.homesteads.values():
            found = existing.get(rec.code)
            if found is None:
                plan.homesteads.append(rec)
                continue
            fbf = c.fbfs[rec.fbf]
            differs = [label for label, same in (
                ("MJ", Decimal(found.area_m2) == rec.area),
                ("FWJZMJ", (Decimal(found.house_floor_area_m2) if found.house_floor_area_m2 is not None else None)
                 == rec.floor_area),
                ("FWJG", found.house_structure == rec.structure), ("ZL", found.address == rec.address),
                ("CBFBM", (found.household.code if found.household else None) == rec.cbf),
                ("geometry", found.geometry == rec.geometry),
                ("FBFBM", found.division_id == division_ids.get(fbf.division_code)
                 and found.collective_id == collective_ids.get(fbf.collective))) if not same]
            if differs:
                self.conflict("ZJD.csv", rec.line, differs[0], "宅基地", rec.code, "、".join(differs))
            else:
                self.report.unchanged["homesteads"] += 1

    def _assets(self) -> None:
        c, plan = self.c, self.plan
        existing: dict[str, CollectiveAsset] = {}
        for chunk in _chunks(sorted(c.assets)):
            for asset in db.session.scalars(select(CollectiveAsset).where(CollectiveAsset.code.in_(chunk))
                                            .options(selectinload(CollectiveAsset.collective))):
                existing[asset.code] = asset
        for rec in c.assets.values():
            found = existing.get(rec.code)
            if found is None:
                plan.assets.append(rec)
                continue
            differs = [label for label, same in (
                ("ZCMC", found.name == rec.name), ("TYSHXYDM", found.collective.credit_code == rec.collective),
                ("ZCLB", found.asset_class == rec.asset_class), ("ZCFL", found.category == rec.category),
                ("MJ", (Decimal(found.area_m2) if found.area_m2 is not None else None) == rec.area),
                ("ZMJZ", Decimal(found.book_value) == rec.book_value), ("LY", found.source == rec.source),
                ("ZL", found.location == rec.location), ("ZT", found.status == rec.status),
                ("GHYT/RJL", (found.details or None) == rec.details)) if not same]
            if differs:
                self.conflict("JTZC.csv", rec.line, differs[0], "集体资产", rec.code, "、".join(differs))
            else:
                self.report.unchanged["collective_assets"] += 1


# --- writing -----------------------------------------------------------------------------------------------------


def _parcel_data(rec: _ParcelRec, group: str) -> dict:
    """What a registration entry records about an asset (no personal identifiers)."""
    return {"object": "parcel", "name": rec.name, "group": group, "area_m2": str(rec.area),
            "land_class": rec.land_class.value, "land_use": rec.land_use, "basic_farmland": rec.basic_farmland,
            "boundaries": rec.boundaries, **({"category": rec.category} if rec.category else {})}


def _homestead_data(rec: _HomesteadRec) -> dict:
    return {"object": "homestead", "area_m2": str(rec.area),
            "house_floor_area_m2": str(rec.floor_area) if rec.floor_area is not None else None,
            "structure": rec.structure}


def _asset_data(rec: _AssetRec) -> dict:
    return {"object": "collective_asset", "name": rec.name, "class": rec.asset_class.value, "category": rec.category,
            "area_m2": str(rec.area) if rec.area is not None else None, "book_value": str(rec.book_value)}


def _collective_entry(rec: _CollectiveRec) -> tuple:
    return ("registration", [{"type": "collective", "id": rec.credit_code}],
            {"object": "collective", "name": rec.name, "division": rec.division_code})


def _household_entry(rec: _HouseholdRec, group: str, collective: str) -> tuple:
    """A household's registration entry: names masked, resident IDs as keyed hashes."""
    return ("registration", [{"type": "household", "id": rec.code}], {
        "object": "household", "head": mask_name(rec.name), "group": group, "collective": collective,
        "members": [{"name": mask_name(m.name), "relation": m.relation, "id_masked": mask_resident_id(m.id_number),
                     "id_hash": m.id_hash} for m in rec.members],
    })


CHUNK = 5000  # parcels per batch of inserts and ledger entries


def _flush() -> None:
    """Number the ORM's pending rows (divisions, collectives, contracts on assets registered earlier) and flush.

    SQLite cannot hand back the ids of a many-row INSERT in order, so the ORM would insert every pending row in a
    statement of its own to learn its id; numbered first, they go in batches."""
    session = db.session()
    pending: dict[type, list] = defaultdict(list)
    for obj in session.new:
        if getattr(obj, "id", 0) is None:
            pending[type(obj)].append(obj)
    if session.get_bind().dialect.name == "sqlite":
        with session.no_autoflush:
            for cls, objects in pending.items():
                for obj, new_id in zip(objects, bulk.reserve_ids(cls.__table__, len(objects))):
                    obj.id = new_id
    session.flush()


def _write(checker: _Checker, plan: _Plan, report: ImportReport, progress: Progress) -> None:
    pii = checker.pii
    divisions = dict(plan.existing_divisions)
    for rec in sorted(plan.divisions, key=lambda r: len(r.code)):
        level = {6: DivisionLevel.county, 9: DivisionLevel.township, 12: DivisionLevel.village,
                 14: DivisionLevel.group}[len(rec.code)]
        parent = divisions.get(rec.code[:{9: 6, 12: 9, 14: 12}[len(rec.code)]]) if len(rec.code) > 6 else None
        divisions[rec.code] = Division(code=rec.code, name=rec.name, level=level, parent=parent)
        db.session.add(divisions[rec.code])
    collectives = dict(plan.existing_collectives)
    for rec in plan.collectives:
        collectives[rec.credit_code] = Collective(name=rec.name, credit_code=rec.credit_code,
                                                  division=divisions[rec.division_code])
        db.session.add(collectives[rec.credit_code])
    _flush()

    # Households: the registered ones as they are; the new ones inserted here, and named to the rules engine by
    # an unsaved instance (code and collective), never added to the session.
    households: dict[str, Household] = dict(plan.existing_households)
    household_ids = {code: h.id for code, h in households.items()}
    household_rows, person_rows, entries = [], [], [_collective_entry(r) for r in plan.collectives]
    for rec, new_id in zip(plan.households, bulk.reserve_ids(Household.__table__, len(plan.households))):
        fbf = checker.fbfs[rec.fbf]
        collective = collectives[fbf.collective]
        household_rows.append({"id": new_id, "code": rec.code, "head_name": rec.name, "address": rec.address,
                               "division_id": divisions[fbf.division_code].id, "collective_id": collective.id})
        person_rows.extend({"household_id": new_id, "name": m.name, "sex": m.sex, "birth_date": m.birth,
                            "relation": m.relation, "id_number_encrypted": pii.encrypt(m.id_number),
                            "id_number_hash": m.id_hash, "id_number_masked": mask_resident_id(m.id_number),
                            "is_member": True} for m in rec.members)
        households[rec.code] = Household(code=rec.code, collective=collective)
        household_ids[rec.code] = new_id
        entries.append(_household_entry(rec, fbf.division_code, fbf.collective))
    bulk.insert_rows(Household.__table__, household_rows)
    bulk.insert_rows(Person.__table__, person_rows)
    record_many(entries)
    missing = sorted({r.cbf for r in plan.homesteads if r.cbf and r.cbf not in households})
    for chunk in _chunks(missing):
        for household in db.session.scalars(select(Household).where(Household.code.in_(chunk))):
            households[household.code], household_ids[household.code] = household, household.id

    contracts_of: dict[str, list[_HoldingRec]] = defaultdict(list)
    for holding in plan.holdings:
        contracts_of[holding.parcel].append(holding)
    total = len(plan.parcels) + len(plan.homesteads) + len(plan.assets) + len(plan.holdings)
    writer = bulk.BulkWriter()

    def new_asset(model: type, collective: Collective, division: Division, row: dict, data: dict) -> bulk.NewAsset:
        return bulk.NewAsset(model, {**row, "division_id": division.id, "collective_id": collective.id},
                             collective, data)

    with progress("登记 registering", total) as bar:
        for chunk in _chunks(plan.parcels, CHUNK):
            assets, grants = [], []
            for rec in chunk:
                fbf = checker.fbfs[rec.fbf]
                asset = new_asset(Parcel, collectives[fbf.collective], divisions[fbf.division_code], {
                    "code": rec.code, "name": rec.name, "area_m2": rec.area, "land_class": rec.land_class,
                    "land_use": rec.land_use, "basic_farmland": rec.basic_farmland, "boundaries": rec.boundaries,
                    "geometry": rec.geometry}, _parcel_data(rec, fbf.division_code))
                assets.append(asset)
                for holding in contracts_of.pop(rec.code, ()):
                    contract = checker.contracts[holding.contract]
                    grants.append(bulk.NewGrant(asset, households[holding.cbf], household_ids[holding.cbf],
                                                contract.start, contract.end, contract.code))
            writer.register(assets, grants)
            bar.update(len(assets) + len(grants))
        for holdings in contracts_of.values():  # contracts on parcels registered earlier: one at a time
            for holding in holdings:
                contract = checker.contracts[holding.contract]
                household = plan.existing_households.get(holding.cbf) or db.session.get(
                    Household, household_ids[holding.cbf])
                operations.grant_contract_right(plan.existing_parcels[holding.parcel], [(household, Decimal(1))],
                                                contract.start, contract.end, contract_number=contract.code)
                bar.update(1)
        for chunk in _chunks(plan.homesteads, CHUNK):
            assets = []
            for rec in chunk:
                fbf = checker.fbfs[rec.fbf]
                assets.append(new_asset(Homestead, collectives[fbf.collective], divisions[fbf.division_code], {
                    "code": rec.code, "household_id": household_ids.get(rec.cbf) if rec.cbf else None,
                    "area_m2": rec.area, "house_floor_area_m2": rec.floor_area, "house_structure": rec.structure,
                    "address": rec.address, "geometry": rec.geometry}, _homestead_data(rec)))
            writer.register(assets, [])
            bar.update(len(assets))
        for chunk in _chunks(plan.assets, CHUNK):
            assets = []
            for rec in chunk:
                collective = collectives[rec.collective]
                assets.append(new_asset(CollectiveAsset, collective, collective.division, {
                    "code": rec.code, "name": rec.name, "asset_class": rec.asset_class, "category": rec.category,
                    "area_m2": rec.area, "book_value": rec.book_value, "source": rec.source,
                    "location": rec.location, "status": rec.status, "details": rec.details}, _asset_data(rec)))
            writer.register(assets, [])
            bar.update(len(assets))
        _flush()
    report.created.update(_plan_counts(plan))


@contextlib.contextmanager
def _without_cyclic_gc():
    """A large import keeps hundreds of thousands of objects alive until the commit, and the cyclic collector
    would rescan them over and over (about a fifth of the time at 20,000 parcels). Reference counting still
    frees everything else; the collector is switched back on at the end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def ledger_size() -> int:
    return store().size(db.session.connection())


def _plan_counts(plan: _Plan) -> dict[str, int]:
    return {"divisions": len(plan.divisions), "collectives": len(plan.collectives),
            "households": len(plan.households), "persons": sum(len(r.members) for r in plan.households),
            "parcels": len(plan.parcels), "contracts": len(plan.holdings), "homesteads": len(plan.homesteads),
            "collective_assets": len(plan.assets)}


def import_directory(path: str | Path, *, actor: Mapping[str, Any], dry_run: bool = False,
                     progress: Progress | None = None) -> ImportReport:
    """Check every file in ``path``; if all rows are good (and not ``dry_run``), register what is new.

    ``actor`` is the ledger's actor for the entries (role, division, account). When its division is set, every
    发包方 must lie inside it (an account's jurisdiction); when it is None, the county the data lies in is recorded.
    Everything is written in one savepoint and one ledger batch; the caller commits. A refused import (or a rule
    refusal while writing) leaves the session as it was.
    """
    with _without_cyclic_gc():
        return _import(Path(path), actor, dry_run, progress or _no_progress)


def _import(directory: Path, actor: Mapping[str, Any], dry_run: bool, progress: Progress) -> ImportReport:
    started = time.monotonic()
    report = ImportReport(directory=directory.name, dry_run=dry_run)
    jurisdiction = actor.get("division")
    tolerance = float(current_app.config.get("REGISTRY_IMPORT_AREA_TOLERANCE", 0.05))
    checker = _Checker(directory, jurisdiction, progress, tolerance)
    with db.session.no_autoflush:
        checker.run()
        plan = None
        if checker.files:  # the good rows are compared too, so that one report lists every bad row
            with progress("对照已登记数据 comparing with the registry", 1) as bar:
                plan = _Comparer(checker, report).run()
                bar.update(1)
    report.warnings = checker.warnings
    report.files = checker.files
    order = {name: i for i, name in enumerate(["-", *FILE_ORDER])}
    report.issues = sorted(checker.issues, key=lambda i: (order.get(i.file, 99), i.line or 0))
    if report.issues or plan is None:
        report.seconds = time.monotonic() - started
        return report
    if dry_run or not any(_plan_counts(plan).values()):
        report.created.update(_plan_counts(plan) if dry_run else {})
        report.seconds = time.monotonic() - started
        return report
    who = dict(actor)
    if who.get("division") is None:
        counties = {code[:6] for code in checker.fbfs} or {code[:6] for code in checker.divisions}
        who["division"] = counties.pop() if len(counties) == 1 else None
    before = ledger_size()
    savepoint = db.session.begin_nested()
    try:
        ledger_stage = contextlib.ExitStack()  # the last stage ends when the batch has been appended
        with ledger_stage, ledger_actor(who), ledger_batch():
            _write(checker, plan, report, progress)
            ledger_stage.enter_context(progress("记入账本 appending to the ledger", 1))
    except (DomainError, EntryError) as error:
        savepoint.rollback()
        for name in ("active_rights", "right_counts"):  # operations' per-session memo of what this unit made
            db.session.info.pop(name, None)
        report.created = dict.fromkeys(KINDS, 0)
        if isinstance(error, EntryError):
            report.issues.append(Issue("-", None, "-", "LEDGER", f"账本拒绝记录：{error}", f"The ledger refused an entry: {error}"))
        else:
            report.issues.append(Issue("-", None, error.field or "-", error.code, error.message_zh, error.message_en))
        report.seconds = time.monotonic() - started
        return report
    savepoint.commit()
    report.ledger_entries = ledger_size() - before
    report.seconds = time.monotonic() - started
    return report
