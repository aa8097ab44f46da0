"""Several processes appending to one log at once: contiguous indices, every entry exactly once, an intact tree."""
from __future__ import annotations

import json
import subprocess
from collections import Counter

from ledger import storage
from ledger.audit import audit
from ledger.entry import decode
from ledger.note import Signer
from ledger.storage import LedgerStore

from tests.ledger.ledger_testing import ORIGIN, PYTHON, REPO, child_env, open_engine, policy_for

WORKERS = 4
PER_WORKER = 50

WRITER = r'''
import json, sys
from datetime import datetime, timezone
from ledger import storage
from ledger.entry import make_entry
from ledger.note import Signer
from tests.ledger.ledger_testing import open_engine

url, origin, worker, count, skey = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
engine = open_engine(url)
store = storage.LedgerStore(origin)
signer = Signer.from_skey(skey)
print("ready", flush=True)
sys.stdin.readline()  # everyone starts at once
indices = []
for n in range(count):
    entry = make_entry("registration", [{"type": "parcel", "id": f"W{worker}-{n}"}],
                       {"role": "county", "division": "511723"}, {"worker": worker, "n": n},
                       datetime.now(timezone.utc))
    with engine.begin() as connection:  # one entry per transaction
        indices += store.append(connection, [("registration", entry)])
    if n % 10 == 9:
        with engine.begin() as connection:
            store.make_checkpoint(connection, [signer])
engine.dispose()
print(json.dumps(indices), flush=True)
'''


def test_concurrent_appends_from_several_processes(database_factory):
    url = database_factory()
    engine = open_engine(url)
    store = LedgerStore(ORIGIN)
    signer = Signer.generate(ORIGIN)
    with engine.begin() as connection:
        storage.create_tables(connection)
    workers = [
        subprocess.Popen([PYTHON, "-c", WRITER, url, ORIGIN, str(w), str(PER_WORKER), signer.skey], cwd=REPO,
                         env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
        for w in range(WORKERS)
    ]
    try:
        for w in workers:
            assert w.stdout.readline() == "ready\n", w.stderr.read()
        for w in workers:
            w.stdin.write("go\n")
            w.stdin.flush()
        outputs = [w.communicate(timeout=120) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.communicate()
    for w, (out, err) in zip(workers, outputs):
        assert w.returncode == 0, err
    reported = [json.loads(out) for out, _ in outputs]
    total = WORKERS * PER_WORKER
    assert sorted(i for r in reported for i in r) == list(range(total))
    assert all(r == sorted(r) for r in reported)  # each worker's entries in its own order

    with engine.connect() as connection:
        rows = list(store.iter_entries(connection))
        assert [idx for idx, _, _, _ in rows] == list(range(total))
        written = Counter((decode(e)["data"]["worker"], decode(e)["data"]["n"]) for _, _, _, e in rows)
        assert written == Counter({(w, n): 1 for w in range(WORKERS) for n in range(PER_WORKER)})
        for worker, indices in enumerate(reported):  # every worker's reported index holds its own entry
            for n, idx in enumerate(indices):
                assert decode(rows[idx][3])["data"] == {"worker": worker, "n": n}
        report = audit(connection, store, policy_for(signer))
        assert report.ok, report.problems
        assert report.size == total
        assert report.checkpoints >= 1
        connection.rollback()
    engine.dispose()
