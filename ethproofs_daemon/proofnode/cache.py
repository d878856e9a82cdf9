"""The bounded proof cache: proof bytes in files, the index in the daemon's SQLite store.

One entry per ``(new_payload_request_root, proof_type)``. Files are
``{directory}/{root hex}/{proof_type}.proof`` (raw proof bytes as the backend wrote them). The
index row records the file's size and when it was added; when more than ``max_entries`` rows
exist the oldest are removed, row and file. zkboost keeps an ``lru::LruCache`` of proofs
(``eth-act/zkboost@9be2085d:crates/server/src/http.rs``), but only ``put`` updates its recency
(downloads ``peek``, catch-up iterates), so it evicts in insertion order in practice, as this
cache does. The cache survives restarts: rows and files stay.

The store owns the connection and applies ``PROOF_CACHE_SCHEMA``; this class uses the connection
only from the thread that calls it (the trio thread), one short transaction per change. A row
whose file vanished is dropped when noticed (``get``/``reconcile``), so a miss is a 404, never a
500.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import structlog

log = structlog.get_logger(__name__)

PROOF_CACHE_SCHEMA: Final[str] = """
CREATE TABLE IF NOT EXISTS proof_node_proofs (
    root        TEXT    NOT NULL,              -- 0x + 64 lower-case hex
    proof_type  TEXT    NOT NULL,
    file_name   TEXT    NOT NULL,              -- relative to the cache directory
    size_bytes  INTEGER NOT NULL,
    proving_time_ms INTEGER,
    cycles      INTEGER,
    created_at  REAL    NOT NULL,              -- Unix s
    seq         INTEGER NOT NULL,              -- insertion order, for eviction
    PRIMARY KEY (root, proof_type)
);
CREATE INDEX IF NOT EXISTS proof_node_proofs_seq ON proof_node_proofs (seq);
"""


_ROOT_RE: Final = re.compile(r"0x[0-9a-f]{64}")
_TYPE_RE: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def valid_key(root: str, proof_type: str) -> bool:
    """True when ``root`` is 0x + 64 lower-case hex and ``proof_type`` a safe file name part."""
    return bool(_ROOT_RE.fullmatch(root) and _TYPE_RE.fullmatch(proof_type))


class ProofCacheError(Exception):
    """The cache could not store a proof (disk full, unreadable source file)."""


@dataclass(frozen=True, slots=True)
class CachedProof:
    """An index row: ``root`` as 0x-hex, sizes in bytes, times in ms / Unix s."""

    root: str
    proof_type: str
    path: Path
    size_bytes: int
    proving_time_ms: int | None
    cycles: int | None
    created_at: float


class ProofCache:
    """Proof files under ``directory`` indexed in ``conn`` (schema ``PROOF_CACHE_SCHEMA``).

    Creates ``directory`` if needed. ``max_entries`` (>= 1) bounds the number of proofs across
    all types. ``clock`` gives Unix seconds.

    Raises:
        ValueError: ``max_entries`` < 1.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        directory: Path,
        max_entries: int,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        self._conn = conn
        self.directory = directory
        self.max_entries = max_entries
        self._clock = clock
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def size(self) -> int:
        """Number of proofs in the cache."""
        row = self._conn.execute("SELECT COUNT(*) FROM proof_node_proofs").fetchone()
        return int(row[0])

    @property
    def total_bytes(self) -> int:
        """Sum of the cached proofs' sizes (bytes)."""
        row = self._conn.execute("SELECT COALESCE(SUM(size_bytes), 0) FROM proof_node_proofs")
        return int(row.fetchone()[0])

    def contains(self, root: str, proof_type: str) -> bool:
        """True when a proof for ``(root, proof_type)`` is indexed."""
        row = self._conn.execute(
            "SELECT 1 FROM proof_node_proofs WHERE root = ? AND proof_type = ?", (root, proof_type)
        ).fetchone()
        return row is not None

    def entry(self, root: str, proof_type: str) -> CachedProof | None:
        """The index row for ``(root, proof_type)``, or None."""
        row = self._conn.execute(
            "SELECT root, proof_type, file_name, size_bytes, proving_time_ms, cycles, created_at "
            "FROM proof_node_proofs WHERE root = ? AND proof_type = ?",
            (root, proof_type),
        ).fetchone()
        return None if row is None else self._row(row)

    def proof_types_for(self, root: str) -> list[str]:
        """Proof types cached for ``root``, oldest first (for SSE catch-up)."""
        rows = self._conn.execute(
            "SELECT proof_type FROM proof_node_proofs WHERE root = ? ORDER BY seq", (root,)
        ).fetchall()
        return [str(r[0]) for r in rows]

    def get(self, root: str, proof_type: str) -> bytes | None:
        """The proof bytes, or None when absent or the key is malformed (a row whose file is
        gone is dropped)."""
        if not valid_key(root, proof_type):
            return None
        found = self.entry(root, proof_type)
        if found is None:
            return None
        try:
            return found.path.read_bytes()
        except FileNotFoundError:
            log.warning("proof_cache_file_missing", root=root, proof_type=proof_type)
            self._delete_rows([(root, proof_type)])
            return None

    def put(
        self,
        root: str,
        proof_type: str,
        source: Path,
        *,
        proving_time_ms: int | None = None,
        cycles: int | None = None,
    ) -> CachedProof:
        """Move the proof file ``source`` into the cache and index it; evict the oldest beyond
        ``max_entries``. Replaces an existing entry for the same key (it then counts as newest).

        Returns:
            The new index row (``path`` inside the cache).

        Raises:
            ProofCacheError: the file could not be moved (missing source, disk error).
            ValueError: ``root``/``proof_type`` not of the form ``valid_key`` accepts.
        """
        if not valid_key(root, proof_type):
            raise ValueError(f"bad cache key {root[:80]!r}, {proof_type[:40]!r}")
        target_dir = self.directory / root
        target = target_dir / f"{proof_type}.proof"
        try:
            target_dir.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".partial")
            shutil.move(os.fspath(source), os.fspath(partial))
            os.replace(partial, target)
            size = target.stat().st_size
        except OSError as exc:
            raise ProofCacheError(f"cannot store proof {source}: {exc}") from exc
        now = self._clock()
        with self._conn:
            seq_row = self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM proof_node_proofs")
            seq = int(seq_row.fetchone()[0]) + 1
            self._conn.execute(
                "INSERT OR REPLACE INTO proof_node_proofs (root, proof_type, file_name, size_bytes,"
                " proving_time_ms, cycles, created_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (root, proof_type, f"{root}/{proof_type}.proof", size, proving_time_ms, cycles,
                 now, seq),
            )  # fmt: skip
        self._evict()
        log.info("proof_cached", root=root, proof_type=proof_type, size_bytes=size)
        return CachedProof(root, proof_type, target, size, proving_time_ms, cycles, now)

    def reconcile(self) -> int:
        """Drop rows whose file is missing (after a crash or manual cleanup); returns how many."""
        rows = self._conn.execute(
            "SELECT root, proof_type, file_name FROM proof_node_proofs"
        ).fetchall()
        gone = [(str(r[0]), str(r[1])) for r in rows if not (self.directory / str(r[2])).is_file()]
        self._delete_rows(gone)
        return len(gone)

    def _evict(self) -> None:
        excess = self.size - self.max_entries
        if excess <= 0:
            return
        rows = self._conn.execute(
            "SELECT root, proof_type FROM proof_node_proofs ORDER BY seq LIMIT ?", (excess,)
        ).fetchall()
        victims = [(str(r[0]), str(r[1])) for r in rows]
        self._delete_rows(victims)
        log.info("proof_cache_evicted", count=len(victims))

    def _delete_rows(self, keys: list[tuple[str, str]]) -> None:
        if not keys:
            return
        with self._conn:
            self._conn.executemany(
                "DELETE FROM proof_node_proofs WHERE root = ? AND proof_type = ?", keys
            )
        for root, proof_type in keys:
            path = self.directory / root / f"{proof_type}.proof"
            path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # other proof types of this root remain
                path.parent.rmdir()

    def _row(self, row: tuple[object, ...]) -> CachedProof:
        root, proof_type, file_name, size, ms, cycles, created = row
        return CachedProof(
            root=str(root),
            proof_type=str(proof_type),
            path=self.directory / str(file_name),
            size_bytes=int(str(size)),
            proving_time_ms=None if ms is None else int(str(ms)),
            cycles=None if cycles is None else int(str(cycles)),
            created_at=float(str(created)),
        )
