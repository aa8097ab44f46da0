"""The certificates' compact font (证书字体): Noto Serif CJK's Simplified Chinese face cut down to the characters
documents realistically use, built once per machine from Debian's fonts-noto-cjk and reused by every render.

Why: the Debian files are TrueType collections of five faces sharing 65,535 CFF glyphs (26 MB). Subsetting that
for every PDF took about 50 ms, the embedded subset kept glyph slots up to the highest glyph used (the Simplified
Chinese forms sit near the end), and Pango shaped against the whole face. The compact font has the GB 2312
repertoire and the usual symbols (about 8,650 glyphs, 2.8 MB) with the Simplified Chinese forms mapped directly
from its cmap, so it does not depend on the document's ``lang`` applying ``locl``. ``exchange.pdf`` declares it
first and the full collection second, so a character outside it (a rare name such as 堃 or 𠮷) still renders.

The build is deterministic: the same collection and fontTools version give the same bytes (no timestamps, no
recomputed bounds), so a certificate re-renders byte for byte. ``flask setup`` builds it; a render builds it if
it is missing.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from multiprocessing import get_context
from pathlib import Path

# Bump when the build below changes what it writes: the file name carries it, so old builds are not reused.
BUILD_VERSION = 1

# Beyond GB 2312: Latin with accents and pinyin tones, punctuation, currency, letter-like symbols and number forms
# (№ ℃ Ⅻ), arrows and operators (≤ ≥ ×), enclosed numbers (①), shapes (□ ○), CJK punctuation (〇 、 《》),
# enclosed and compatibility CJK (㈠ ㎡), full-width forms (（ ） ￥).
EXTRA_RANGES = (
    (0x0020, 0x007E), (0x00A0, 0x017F), (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2100, 0x218F),
    (0x2190, 0x22FF), (0x2460, 0x24FF), (0x2500, 0x25FF), (0x3000, 0x303F), (0x3200, 0x33FF),
    (0xFF00, 0xFFEF),
)
# Vertical-writing features: certificates are set horizontally, so their glyphs are left out.
VERTICAL_FEATURES = {"vert", "vrt2", "vkrn", "vpal", "valt", "vhal", "vchw", "vjmo"}
OPENTYPE_ZHS = "ZHS "  # the OpenType language system HarfBuzz uses for zh-CN

_build_lock = threading.Lock()


@cache
def certificate_characters() -> frozenset[int]:
    """The code points the compact font covers: all of GB 2312 (its 6,763 hanzi and its symbols) plus
    ``EXTRA_RANGES``."""
    points = {point for first, last in EXTRA_RANGES for point in range(first, last + 1)}
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                points.add(ord(bytes((row, cell)).decode("gb2312")))
            except UnicodeDecodeError:
                continue  # an unassigned position
    return frozenset(points)


@cache
def _characters_digest() -> bytes:
    return hashlib.sha256(",".join(map(str, sorted(certificate_characters()))).encode()).digest()


def compact_font_path(source: Path, build_dir: Path) -> Path:
    """Where the compact font of ``source`` lives: the name carries a digest of everything the bytes depend on
    (this module's BUILD_VERSION, fontTools' version, the character set, the collection's path, size and time), so a
    Debian font update or a change here builds a new file instead of reusing a stale one."""
    import fontTools

    stat = source.stat()
    digest = hashlib.sha256()
    for part in (BUILD_VERSION, fontTools.version, source.resolve(), stat.st_size, stat.st_mtime_ns):
        digest.update(f"{part}\n".encode())
    digest.update(_characters_digest())
    return build_dir / f"{source.stem}-SC-{digest.hexdigest()[:16]}.otf"


def compact_font(source: Path, build_dir: Path) -> Path:
    """The compact font of ``source``, built first if missing (about 13 s; ``flask setup`` does it ahead)."""
    target = compact_font_path(source, build_dir)
    if not target.is_file():
        with _build_lock:
            if not target.is_file():
                build_font(source, target)
    return target


def ensure_compact_fonts(sources: list[Path], build_dir: Path) -> list[str]:
    """``flask setup``: build the missing compact fonts, in parallel worker processes. Returns what was done."""
    targets = {source: compact_font_path(source, build_dir) for source in sources}
    missing = [source for source, target in targets.items() if not target.is_file()]
    if missing:
        # A fresh interpreter per build: nothing of the caller (database connections, threads) crosses a fork.
        with ProcessPoolExecutor(max_workers=min(len(missing), os.cpu_count() or 1),
                                 mp_context=get_context("spawn")) as pool:
            list(pool.map(build_font, missing, [targets[source] for source in missing]))
    return [f"PDF font {target.name}: {'built' if source in missing else 'ok'} in {build_dir}"
            for source, target in targets.items()]


def build_font(source: Path, target: Path) -> None:
    """Write the compact font of the collection ``source`` to ``target`` (atomically; stale builds of the same
    collection in that folder are removed)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    face = simplified_chinese_face(source)
    # recalcBBoxes=False keeps the collection's font-wide bounds (a superset of the subset's) instead of drawing
    # every glyph three times; recalcTimestamp=False keeps its dates. Both keep the output deterministic and fast.
    with TTFont(source, fontNumber=face, lazy=False, recalcBBoxes=False, recalcTimestamp=False) as font:
        forms = zhs_locl_substitutions(font)
        for table in font["cmap"].tables:
            if table.isUnicode() and table.format != 14:
                table.cmap = {point: forms.get(glyph, glyph) for point, glyph in table.cmap.items()}
        options = subset.Options()
        options.layout_features = [tag for tag in options.layout_features
                                   if tag != "locl" and tag not in VERTICAL_FEATURES]
        options.name_IDs = ["*"]  # keep the copyright and licence records (SIL OFL 1.1)
        options.name_languages = ["*"]
        options.notdef_outline = True
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=certificate_characters())
        subsetter.subset(font)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(handle, "wb") as f:
                font.save(f)
            os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide it from a server running as another user
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    for stale in target.parent.glob(f"{source.stem}-SC-*.otf"):
        if stale != target:
            stale.unlink(missing_ok=True)


def simplified_chinese_face(source: Path) -> int:
    """The index of the Simplified Chinese face in a Noto CJK collection (2 in Debian's files: JP, KR, SC, TC, HK)."""
    from fontTools.ttLib import TTCollection

    with TTCollection(source, lazy=True) as collection:
        for index, face in enumerate(collection.fonts):
            if face["name"].getDebugName(1).endswith(" SC"):
                return index
    raise RuntimeError(f"{source} has no Simplified Chinese (SC) face: expected Noto Serif CJK from fonts-noto-cjk")


def zhs_locl_substitutions(font) -> dict[str, str]:
    """Glyph → glyph: what the face's ``locl`` feature does for Simplified Chinese text (a few quotes and dashes in the
    SC face), whatever the script, so the cmap can point at those forms directly."""
    gsub = font["GSUB"].table
    features = gsub.FeatureList.FeatureRecord
    lookups: set[int] = set()
    for script in gsub.ScriptList.ScriptRecord:
        for language in script.Script.LangSysRecord:
            if language.LangSysTag == OPENTYPE_ZHS:
                lookups.update(index for feature in language.LangSys.FeatureIndex
                               if features[feature].FeatureTag == "locl"
                               for index in features[feature].Feature.LookupListIndex)
    substitutions: dict[str, str] = {}
    for index in sorted(lookups):
        lookup = gsub.LookupList.Lookup[index]
        for table in lookup.SubTable:
            table = table.ExtSubTable if lookup.LookupType == 7 else table
            if table.LookupType != 1:
                raise RuntimeError(f"locl lookup {index} is of type {table.LookupType}; only single substitutions "
                                   "can be moved into the cmap")
            substitutions.update(table.mapping)
    return substitutions
