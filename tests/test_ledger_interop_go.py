"""Existing tlog clients can read the log: Go's golang.org/x/mod/sumdb/{note,tlog} (the go.sum database client
libraries, from Debian's golang-golang-x-mod-dev) verify the platform's checkpoint, authenticate its C2SP tiles
against the signed root and check record proofs, over HTTP against a live server with the demo data.
"""
from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ledger.checkpoint import Checkpoint
from ledger.note import Signer

ROOT = Path(__file__).resolve().parents[1]
GOPATH = Path("/usr/share/gocode")
GO_PACKAGES = ("golang.org/x/mod/sumdb/note", "golang.org/x/mod/sumdb/tlog")
MISSING_GO = ("Go and golang.org/x/mod are needed for this test; `make test` installs them "
              "(apt-get install golang-go golang-golang-x-mod-dev)")

GO_SOURCE = r'''
// ledgercheck BASE-URL VKEY [INDEX...]: read a C2SP tlog-tiles log with Go's sumdb libraries and check it.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

var (
	base   string
	client = &http.Client{Timeout: 30 * time.Second}
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "ledgercheck: "+format+"\n", args...)
	os.Exit(1)
}

func get(path string) ([]byte, error) {
	resp, err := client.Get(base + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return body, nil
}

func mustGet(path string) []byte {
	body, err := get(path)
	if err != nil {
		fail("%v", err)
	}
	return body
}

// c2spIndex spells a tile index the C2SP tlog-tiles way: 1234067 -> x001/x234/067.
func c2spIndex(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/", n%1000) + s
	}
	return s
}

// tilePath is the C2SP path of a tile; tlog.Tile.Path() is the go.sum layout, with the height in the path.
// L == -1 is an entry bundle (tlog's "data" tile).
func tilePath(t tlog.Tile) string {
	if t.H != height {
		fail("tile of height %d requested", t.H)
	}
	p := fmt.Sprintf("/ledger/tile/%d/%s", t.L, c2spIndex(t.N))
	if t.L == -1 {
		p = "/ledger/tile/entries/" + c2spIndex(t.N)
	}
	if t.W != 1<<height {
		p += fmt.Sprintf(".p/%d", t.W)
	}
	return p
}

type tileReader struct{ fetched int }

func (r *tileReader) Height() int { return height }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	for i, t := range tiles {
		body, err := get(tilePath(t))
		if err != nil {
			return nil, err
		}
		data[i] = body
		r.fetched++
	}
	return data, nil
}

func (r *tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

// bundle fetches entry bundle n of a log of the given size and splits it (uint16 big-endian length + bytes).
func bundle(n, size int64) [][]byte {
	w := size - n<<height
	if w > 1<<height {
		w = 1 << height
	}
	data := mustGet(tilePath(tlog.Tile{H: height, L: -1, N: n, W: int(w)}))
	var entries [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			fail("entry bundle %d is truncated", n)
		}
		length := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+length {
			fail("entry bundle %d is truncated", n)
		}
		entries = append(entries, data[2:2+length])
		data = data[2+length:]
	}
	if int64(len(entries)) != w {
		fail("entry bundle %d holds %d entries, want %d", n, len(entries), w)
	}
	return entries
}

func main() {
	if len(os.Args) < 3 {
		fail("usage: ledgercheck BASE-URL VKEY [INDEX...]")
	}
	base = strings.TrimRight(os.Args[1], "/")
	verifier, err := note.NewVerifier(os.Args[2])
	if err != nil {
		fail("bad verifier key: %v", err)
	}
	n, err := note.Open(mustGet("/ledger/checkpoint"), note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint does not verify: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != verifier.Name() {
		fail("checkpoint body is not for %s: %q", verifier.Name(), n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 1 {
		fail("bad tree size %q", lines[1])
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != tlog.HashSize {
		fail("bad root hash %q", lines[2])
	}
	var root tlog.Hash
	copy(root[:], rootBytes)

	// TileHashReader authenticates every tile it reads against the signed root.
	reader := &tileReader{}
	hashes := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, reader)
	treeHash, err := tlog.TreeHash(size, hashes)
	if err != nil {
		fail("tree hash from tiles: %v", err)
	}
	if treeHash != root {
		fail("tree hash from tiles %v differs from the checkpoint root %v", treeHash, root)
	}

	// The entries of the first bundle hash (RFC 6962 leaf hash) to the hashes in the first level-0 tile.
	first := bundle(0, size)
	tile0, err := reader.ReadTiles([]tlog.Tile{{H: height, L: 0, N: 0, W: len(first)}})
	if err != nil {
		fail("%v", err)
	}
	for i, entry := range first {
		h := tlog.RecordHash(entry)
		if !bytes.Equal(h[:], tile0[0][i*tlog.HashSize:(i+1)*tlog.HashSize]) {
			fail("entry %d does not hash to its leaf hash in tile 0/000", i)
		}
	}

	checked := 0
	for _, arg := range os.Args[3:] {
		index, err := strconv.ParseInt(arg, 10, 64)
		if err != nil || index < 0 || index >= size {
			fail("index %q is not in a tree of size %d", arg, size)
		}
		entry := bundle(index>>height, size)[index%(1<<height)]
		proof, err := tlog.ProveRecord(size, index, hashes)
		if err != nil {
			fail("record proof for %d: %v", index, err)
		}
		if err := tlog.CheckRecord(proof, size, root, index, tlog.RecordHash(entry)); err != nil {
			fail("record %d: %v", index, err)
		}
		changed := append(append([]byte{}, entry...), ' ')
		if tlog.CheckRecord(proof, size, root, index, tlog.RecordHash(changed)) == nil {
			fail("record %d: the proof also accepts a changed entry", index)
		}
		checked++
	}
	fmt.Printf("ok origin=%s size=%d root=%s records=%d tiles=%d\n", lines[0], size, lines[2], checked, reader.fetched)
}
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ledgercheck(tmp_path_factory) -> Path | None:
    """The Go client above, built against Debian's golang.org/x/mod in GOPATH mode (None without Go)."""
    go = shutil.which("go")
    if go is None or not all((GOPATH / "src" / package).is_dir() for package in GO_PACKAGES):
        return None
    work = tmp_path_factory.mktemp("ledgercheck")
    (work / "main.go").write_text(GO_SOURCE)
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": str(GOPATH), "GOCACHE": str(work / "gocache"),
           "GOFLAGS": ""}
    build = subprocess.run([go, "build", "-o", str(work / "ledgercheck"), str(work / "main.go")], cwd=work,
                           env=env, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    return work / "ledgercheck"


@pytest.fixture(scope="module")
def ledger_server(database_factory, tmp_path_factory):
    """A live server with the demo data, started as tests/browser/conftest.py does; yields (url, log vkey)."""
    instance = tmp_path_factory.mktemp("interop-instance")
    env = {**os.environ, "DATABASE_URL": database_factory(), "EXCHANGE_INSTANCE_PATH": str(instance),
           "FLASK_APP": "wsgi", "PYTHONWARNINGS": "ignore"}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]

    def run(*args: str) -> str:
        done = subprocess.run(flask + list(args), cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"flask {' '.join(args)}: {done.stdout}{done.stderr[-2000:]}"
        return done.stdout

    run("setup")
    run("demo", "load")
    vkey = run("ledger", "vkey").strip()  # the key a verifier configures, taken from the instance, not the server
    port = free_port()
    log = (instance / "server.log").open("w")
    server = subprocess.Popen(flask + ["run", "--port", str(port), "--no-reload"], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/api/v1/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("live server did not start: " + (instance / "server.log").read_text()[-2000:])
            time.sleep(0.2)
    yield url, vkey
    server.terminate()
    server.wait(timeout=10)
    log.close()


def run_check(binary: Path, url: str, vkey: str, *indices: int) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), url, vkey, *map(str, indices)], capture_output=True, text=True, timeout=120)


def go_client_and_server(request, binary: Path | None) -> tuple[Path, str, str]:
    """Fails the test (before a server is started) when Go is missing."""
    if binary is None:
        pytest.fail(MISSING_GO)
    url, vkey = request.getfixturevalue("ledger_server")
    return binary, url, vkey


def test_go_tlog_client_verifies_the_checkpoint_tiles_and_record_proofs(request, ledgercheck):
    ledgercheck, url, vkey = go_client_and_server(request, ledgercheck)
    with urllib.request.urlopen(url + "/ledger/checkpoint", timeout=10) as response:
        checkpoint = Checkpoint.from_note(response.read().decode())
    size = checkpoint.size
    assert size > 1000, "the demo log spans several tiles"
    indices = sorted({0, 1, 5, 255, 256, 257, 1000, size // 2, size - 257, size - 2, size - 1})
    result = run_check(ledgercheck, url, vkey, *indices)
    assert result.returncode == 0, result.stderr
    fields = dict(item.split("=", 1) for item in result.stdout.split()[1:])
    assert result.stdout.startswith("ok ")
    assert fields["size"] == str(size)
    assert fields["root"] == Checkpoint(checkpoint.origin, size, checkpoint.root).body.split("\n")[2]
    assert fields["records"] == str(len(indices))
    assert int(fields["tiles"]) > 0


def test_go_tlog_client_refuses_the_checkpoint_under_another_key(request, ledgercheck):
    ledgercheck, url, vkey = go_client_and_server(request, ledgercheck)
    impostor = Signer.generate(vkey.split("+", 1)[0]).verifier.vkey  # same log name, another key
    result = run_check(ledgercheck, url, impostor, 0)
    assert result.returncode != 0
    assert "checkpoint does not verify" in result.stderr


@contextlib.contextmanager
def tampering_proxy(upstream: str, prefix: str, offset: int):
    """A proxy to ``upstream`` that flips one bit at ``offset`` of every response whose path starts with ``prefix``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            try:
                with urllib.request.urlopen(upstream + self.path, timeout=10) as response:
                    status, body = response.status, response.read()
            except urllib.error.HTTPError as exc:
                status, body = exc.code, exc.read()
                exc.close()
            if self.path.startswith(prefix) and status == 200:
                body = body[:offset] + bytes([body[offset] ^ 1]) + body[offset + 1:]
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address):
            pass  # the client hangs up as soon as it spots the change

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("prefix, offset, complaint", [
    ("/ledger/tile/1/", 0, "inconsistent tile"),  # the level-1 tile the tree hash is computed from
    ("/ledger/tile/0/", 31, "inconsistent tile"),  # level-0 tiles, authenticated through their parents
    ("/ledger/tile/entries/", 7, "does not hash to its leaf hash"),  # a byte inside the first entry
])
def test_go_tlog_client_notices_tampered_tiles(request, ledgercheck, prefix, offset, complaint):
    """The same client through a proxy that alters one bit: it must refuse, so the checks above mean something."""
    ledgercheck, url, vkey = go_client_and_server(request, ledgercheck)
    with tampering_proxy(url, prefix, offset) as proxy:
        result = run_check(ledgercheck, proxy, vkey, 0, 300)
    assert result.returncode != 0, result.stdout
    assert complaint in result.stderr
