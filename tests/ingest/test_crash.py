"""Crash safety: an ingest killed by SIGKILL anywhere converges, on the next run, to exactly the state of an
uninterrupted ingest; two ingests on one store never corrupt it; --sync leaves every index agreeing.

The kill points are rag.faults checkpoints armed with NEWSDESK_FAULT. Runs go through a pre-warmed fork
server (each child is `newsdesk ingest` via ui.cli.main, without four seconds of imports); one case and the
concurrency tests use the real console script. `python -m eval.bench.stress_crash` runs the whole matrix (45 cases)
with real processes.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eval.bench.stress_crash import CASES, Matrix, SubprocessRunner, differences, open_runner, snapshot

# One case per checkpoint (20 of the 25), two double crashes, and the case that found the orphaned-articles bug
# (update-sync_forgotten-1); the script runs the rest.
CI_CASES = [
    "fresh-manifest_tmp_written-1", "fresh-begin_write_dirty-1", "fresh-read_file-6", "fresh-embed_before-1",
    "fresh-chroma_upsert_before-1", "fresh-batch_written-1", "fresh-embed_after-2", "fresh-catalog_write_inside-2",
    "fresh-finish_before-1", "fresh-bm25_saved-1", "fresh-finish_bm25_rebuilt-1",
    "fresh-chroma_upsert_after-2-then-reconcile_scanned-1",
    "update-catalog_write_after-1", "update-chroma_delete_after-1", "update-forget_sources_inside-1",
    "update-sync_forgotten-1", "update-delete_catalog_inside-1",
    "update-catalog_write_after-1-then-reconcile_scanned-1", "update-chroma_delete_before-1",
    "update-bm25_tmp_written-1", "update-bm25_between_renames-1-then-bm25_tmp_written-1",
]
BY_NAME = {c.name: c for c in CASES}
LOCKED = "another newsdesk ingest is writing to"


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("crash")


@pytest.fixture(scope="module")
def matrix(work):
    with open_runner("fork", work) as runner:
        yield Matrix(work, runner)


def test_matrix__ci_cases_cover_at_least_twenty_checkpoints():
    assert set(CI_CASES) <= set(BY_NAME)
    assert len({BY_NAME[n].checkpoint for n in CI_CASES}) >= 20


@pytest.mark.integration
@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", CI_CASES)
def test_crash__killed_ingest_converges_to_the_uninterrupted_state(matrix, name):
    result = matrix.run_case(BY_NAME[name])
    assert result["ok"], result["problems"]


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_crash__real_console_script_killed_mid_write_recovers(matrix, work):
    # The same as above without the fork server: NEWSDESK_FAULT is read at import by a fresh `newsdesk` process.
    result = matrix.run_case(BY_NAME["fresh-chroma_upsert_after-2"], runner=SubprocessRunner(work))
    assert result["ok"], result["problems"]


@pytest.mark.integration
def test_sync__deleted_edited_and_added_sources_leave_every_index_agreeing(matrix):
    # ref-update is version 1 followed by `ingest --sync` of version 2 (a file deleted, records removed, texts
    # edited, a title corrected, a file added): it must agree with itself and with a fresh ingest of version 2.
    updated = matrix.references["update"]
    assert differences(updated, updated) == []
    fresh_v2 = matrix.work / "fresh-v2"
    matrix._ingest(fresh_v2, matrix.update_corpus)
    fresh = snapshot(fresh_v2)
    for key in ("chunks", "sources", "chroma_ids", "chroma_docs", "chroma_vectors", "bm25_ids", "bm25_index"):
        assert updated[key] == fresh[key], key
    # Only `origin` ("feed1.jsonl#10") may differ: an unchanged record keeps the line number it was ingested
    # from when lines above it are removed (its id and content are what count). Chroma's metadata carries it too.
    def without_origin(rows):
        return [r[:3] + r[4:] for r in rows]

    assert without_origin(updated["articles"]) == without_origin(fresh["articles"])
    assert not {a[0] for a in updated["articles"]} & {"f2x0", "f1x7", "f1x8"}  # deleted file, removed records


@pytest.mark.integration
def test_differences__a_different_store_is_reported(matrix):
    # The comparison must not be vacuous: the two references hold different corpora.
    problems = differences(matrix.references["fresh"], matrix.references["update"])
    assert any(p.startswith("articles differ") for p in problems)
    assert any(p.startswith("chroma_ids differ") for p in problems)


# -- two writers ---------------------------------------------------------------------------------------------------

def _start(runner: SubprocessRunner, argv: list[str], log: Path) -> subprocess.Popen:
    from eval.bench.stress_crash import _env

    return subprocess.Popen([*runner.command, *argv], env=_env(None), cwd=runner.workdir,
                            stdout=subprocess.DEVNULL, stderr=log.open("w"))


def _wait_for_lock_holder(store: Path, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    """Return once some other process holds the store's write lock (probing with a non-blocking flock)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the first ingest ended before it was seen holding the lock"
        if (store / ".lock").exists():
            fd = os.open(store / ".lock", os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return
            finally:
                os.close(fd)  # releases the probe's lock at once if it got it
        time.sleep(0.02)
    pytest.fail("the first ingest never took the store lock")


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_lock__second_ingest_fails_clearly_while_the_first_holds_the_store(matrix, work):
    runner = SubprocessRunner(work)
    store = work / "locked"
    argv = matrix.argv(store, "fresh")
    first = _start(runner, argv, work / "first.err")
    try:
        _wait_for_lock_holder(store, first)
        first.send_signal(signal.SIGSTOP)  # frozen mid-ingest, holding the lock for as long as the test wants
        second = runner.run(argv, timeout=120)
        assert second.code == 1
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and LOCKED in lines[0], second.stderr
    finally:
        first.send_signal(signal.SIGCONT)
        code = first.wait(180)
    assert code == 0, (work / "first.err").read_text()
    assert differences(snapshot(store), matrix.references["fresh"]) == []


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_lock__two_ingests_started_together_on_a_new_store_both_finish_or_one_fails_clearly(matrix, work):
    runner = SubprocessRunner(work)
    store = work / "race"
    argv = matrix.argv(store, "fresh")
    procs = [_start(runner, argv, work / f"race{i}.err") for i in range(2)]
    codes = [p.wait(240) for p in procs]
    errors = [(work / f"race{i}.err").read_text() for i in range(2)]
    assert 0 in codes, errors
    for code, err in zip(codes, errors, strict=True):
        # The second waits for the first (exit 0) or gives up with the one-line lock message (exit 1).
        assert code == 0 or (code == 1 and len(err.strip().splitlines()) == 1 and LOCKED in err), (code, err)
    assert differences(snapshot(store), matrix.references["fresh"]) == []


def test_manifest__losing_the_race_to_create_it_adopts_the_winners(tmp_path, monkeypatch):
    import rag.store.manifest
    from rag.store.store import Store

    real_replace = os.replace

    def other_process_wins(src, dst):
        # Another first ingest renames the shared temporary file a moment before this one does.
        real_replace(src, dst)
        raise FileNotFoundError(2, "No such file or directory", str(src))

    monkeypatch.setattr(rag.store.manifest.os, "replace", other_process_wins)
    store = Store(tmp_path / "s", embedding_model="hash-256", dim=256, chunker="v1", create=True)
    monkeypatch.undo()
    assert store.manifest is not None and store.manifest.embedding_model == "hash-256"


def test_faults__spec_parsing_and_a_malformed_spec_fails_loudly():
    from rag.faults import _parse

    assert _parse("") == (None, 0) and _parse("read_file") == ("read_file", 1)
    assert _parse(" chroma_upsert_after:3 ") == ("chroma_upsert_after", 3)
    for bad in ("x:0", "x:-1", "x:two", ":3"):
        with pytest.raises(ValueError, match="NEWSDESK_FAULT"):
            _parse(bad)


def test_faults__an_armed_checkpoint_kills_only_at_its_nth_hit(tmp_path):
    # A child process hits "here" three times; armed at the 2nd hit it must die by SIGKILL after printing once.
    code = ("import sys\nfrom rag.faults import checkpoint\n"
            "for i in range(3):\n    checkpoint('elsewhere')\n    print(i, flush=True)\n    checkpoint('here')\n")
    env = {**os.environ, "NEWSDESK_FAULT": "here:2", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == -signal.SIGKILL and run.stdout.split() == ["0", "1"]
