"""Chinese by default, English complete; every front-end file served by the platform itself."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "exchange" / "translations" / "en" / "LC_MESSAGES" / "messages.po"


def test_every_user_visible_string_has_an_english_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg"),
                    "-k", "_l", "-o", str(pot), "exchange", "templates"], check=True, capture_output=True, cwd=ROOT)
    with pot.open("rb") as f:
        extracted = {m.id for m in read_po(f) if m.id}
    with PO.open("rb") as f:
        catalogue = {m.id: m.string for m in read_po(f) if m.id}
    missing = sorted(extracted - catalogue.keys())
    untranslated = sorted(i for i in extracted if not catalogue.get(i))
    assert not missing, f"run `make extract-messages` and translate: {missing}"
    assert not untranslated, untranslated


def test_chinese_by_default_english_on_request(client):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "开江县农村产权交易平台" in page
    english = client.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english and "Kaijiang County Rural Property Rights Exchange" in english


def test_language_choice_sticks_for_the_session(client):
    from tests.conftest import csrf_token

    client.post("/language", data={"lang": "en", "next": "/", "csrf_token": csrf_token(client, "/")})
    assert "Log in" in client.get("/login").get_data(as_text=True)


def test_templates_load_nothing_from_outside(client):
    pattern = re.compile(r'(?:src|href)\s*=\s*["\'](?:https?:)?//', re.I)
    for template in (ROOT / "templates").rglob("*.html"):
        assert not pattern.search(template.read_text()), template
    page = client.get("/").get_data(as_text=True)
    for url in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        with client.get(url) as response:
            assert response.status_code == 200, url
