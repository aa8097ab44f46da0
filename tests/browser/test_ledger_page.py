"""账本公示 in a real browser: a visitor who is not logged in finds the public ledger from the home page, reads its
size and signed checkpoint, looks up an entry and gets its canonical bytes and inclusion proof, is told in Chinese
when an index is not in the ledger, and switches to English."""
from __future__ import annotations

import base64
import hashlib
import re

import pytest
from playwright.sync_api import expect

from ledger import merkle
from ledger.checkpoint import Checkpoint
from ledger.note import Verifier, verify

pytestmark = pytest.mark.browser


def test_visitor_reads_the_public_ledger_looks_up_an_entry_and_switches_to_english(page):
    page.goto("/")
    expect(page.get_by_test_id("login-link")).to_be_visible()  # a visitor, not logged in
    page.get_by_role("link", name="账本公示").click()
    expect(page).to_have_url(re.compile(r"/transparency$"))
    expect(page.locator("h1")).to_have_text("账本公示")

    # The signed checkpoint on the page verifies with the key shown beside it, and covers every entry counted.
    checkpoint_text = page.get_by_test_id("checkpoint-text").text_content()
    checkpoint = Checkpoint.from_note(checkpoint_text)
    vkey = page.locator("dt:text-is('验证公钥') + dd code").text_content()
    verify(checkpoint_text, [Verifier.from_vkey(vkey)])
    expect(page.get_by_test_id("ledger-size")).to_have_text(str(checkpoint.size))

    page.fill("#index", "5")
    page.get_by_role("button", name="查询").click()
    expect(page).to_have_url(re.compile(r"/transparency\?index=5$"))
    result = page.get_by_test_id("lookup-result")
    expect(result).to_contain_text("条目 5：登记")
    raw = result.locator("pre.note").text_content().encode()
    served = page.request.get("/api/v1/ledger/entries/5").json()
    assert raw == base64.b64decode(served["leaf"])  # the exact bytes that were hashed
    leaf_hash = hashlib.sha256(b"\x00" + raw).digest()
    expect(result.locator("code").first).to_have_text(leaf_hash.hex())
    tree_size = int(re.search(r"在 (\d+) 条的树中", result.text_content()).group(1))
    proof = [bytes.fromhex(h) for h in result.locator("ol.proof li code").all_text_contents()]
    assert tree_size == checkpoint.size and proof
    merkle.verify_inclusion(5, tree_size, leaf_hash, proof, checkpoint.root)

    beyond = checkpoint.size + 1000
    page.fill("#index", str(beyond))
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_test_id("lookup-error")).to_have_text(
        f"序号 {beyond} 不在账本中（现有 {checkpoint.size} 条，序号从 0 开始）。")
    expect(page.get_by_test_id("lookup-result")).to_have_count(0)

    page.get_by_test_id("lang-en").click()
    expect(page.locator("h1")).to_have_text("Public ledger")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("lookup-error")).to_contain_text(f"Index {beyond} is not in the ledger")
