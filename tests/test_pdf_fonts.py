"""The PDFs' compact font (exchange.pdf_fonts): certificates embed it rather than the whole Noto CJK collection, it
draws the Simplified Chinese forms without the document's ``lang``, a character outside it still renders from the
collection, and building it again gives the same bytes."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from fontTools.pens.recordingPen import RecordingPen
from fontTools.ttLib import TTFont

from exchange.pdf import DEFAULT_FONT_DIR, FONT_FACES, compact_fonts, font_dir, sign_pdf
from exchange.pdf_fonts import build_font, certificate_characters, simplified_chinese_face
from tests.test_pdf import SAMPLE, render_sample, run

ROOT = Path(__file__).resolve().parent.parent
RARE = ("堃", "𠮷")  # a name character outside GB 2312, and one outside the Basic Multilingual Plane


def pdffonts(path: Path) -> list[tuple[str, str, str, str]]:
    """(name, emb, sub, uni) of each font pdffonts lists."""
    rows = []
    for line in run("pdffonts", str(path)).splitlines()[2:]:
        fields = line.split()
        rows.append((fields[0], *fields[-5:-2]))
    return rows


def outline(font: TTFont, point: int) -> list:
    pen = RecordingPen()
    font.getGlyphSet()[font.getBestCmap()[point]].draw(pen)
    return pen.value


@pytest.fixture(scope="module")
def compact(app) -> dict[str, Path]:
    with app.app_context():
        return compact_fonts(font_dir())


def test_a_certificate_embeds_the_compact_font_and_not_the_collection(app, tmp_path):
    with app.app_context():
        path = tmp_path / "sample.pdf"
        path.write_bytes(render_sample())
    fonts = pdffonts(path)
    assert fonts and all(row[1:] == ("yes", "yes", "yes") for row in fonts), fonts
    names = [re.sub(r"^[A-Z]{6}\+", "", row[0]) for row in fonts]
    assert "Exchange-Serif" in names and not any(name.startswith("Exchange-Serif-Full") for name in names), names


def test_a_character_outside_the_compact_font_renders_from_the_collection(app, tmp_path):
    assert not any(ord(c) in certificate_characters() for c in RARE)
    data = {**SAMPLE, "rows": [*SAMPLE["rows"], {"label": "联系人", "value": f"王{RARE[0]}、{RARE[1]}田"}]}
    with app.app_context():
        from exchange.pdf import Attachment, render_pdf

        signed = sign_pdf(render_pdf("sample", data, title="产权交易鉴证书（样例）", attachments=[
            Attachment("ledger-proof.json", b"{}", "proof", "application/json")]), reason="x", location="y")
    path = tmp_path / "rare.pdf"
    path.write_bytes(signed)
    text = "".join(run("pdftotext", "-enc", "UTF-8", str(path), "-").split())
    assert f"联系人王{RARE[0]}、{RARE[1]}田" in text, text
    fonts = pdffonts(path)
    assert all(row[1:] == ("yes", "yes", "yes") for row in fonts), fonts
    names = {re.sub(r"^[A-Z]{6}\+", "", row[0]) for row in fonts}
    assert {"Exchange-Serif", "Exchange-Serif-Full"} <= names, names
    assert len(signed) <= 250 * 1024


def test_every_character_of_the_templates_is_in_the_compact_font(compact):
    sources = [p for folder in ("templates/certificates", "templates/contracts") for p in (ROOT / folder).rglob("*")
               if p.is_file()] + list((ROOT / "contracts").rglob("*.toml"))
    with TTFont(compact["normal"], lazy=True) as font:
        covered = set(font.getBestCmap())
    missing = {c: p.relative_to(ROOT).as_posix() for p in sources for c in p.read_text(encoding="utf-8")
               if c >= " " and ord(c) not in covered}
    assert not missing, f"characters outside the compact font (add them to exchange.pdf_fonts): {missing}"


def test_the_compact_font_draws_the_simplified_chinese_forms(compact):
    source = Path(DEFAULT_FONT_DIR) / FONT_FACES["normal"]
    checked = "骨直角令郎“”"  # hanzi whose Japanese and Chinese forms differ; quotes that SC sets full-width
    with TTFont(compact["normal"], lazy=True) as built, \
            TTFont(source, fontNumber=simplified_chinese_face(source), lazy=True) as sc, \
            TTFont(source, fontNumber=0, lazy=True) as japanese:
        assert japanese["name"].getDebugName(1).endswith(" JP")
        for c in checked:
            assert outline(built, ord(c)) == outline(sc, ord(c)), c
        assert outline(built, ord("骨")) != outline(japanese, ord("骨"))
        # nothing left for HarfBuzz to substitute by language
        assert "locl" not in {record.FeatureTag for record in built["GSUB"].table.FeatureList.FeatureRecord}


@pytest.mark.slow
def test_building_the_compact_font_again_gives_the_same_bytes(compact, tmp_path):
    again = tmp_path / compact["normal"].name
    build_font(Path(DEFAULT_FONT_DIR) / FONT_FACES["normal"], again)
    assert again.read_bytes() == compact["normal"].read_bytes()
