"""The compliance archive on disk (DESIGN.md §10): `ARCHIVE/manifest.jsonl` and `ARCHIVE/records/`.

The chain rules are `engine.archive.chain`; this module only reads and writes. Every record goes to a
temporary file under `ARCHIVE/.tmp/` (outside `records/`, so a crash never leaves a stray record), is
fsynced and renamed into place; then its manifest line is appended and fsynced. A lock file serialises
writers. A path is written once: writing the same bytes again returns the existing entry (so a re-run
is harmless), different bytes are refused.
"""

import fcntl
import hashlib
import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from slo_pipelines.engine.archive import chain
from slo_pipelines.engine.archive.chain import ArchiveError

DEFAULT_KEY_ENV = "SLO_ARCHIVE_KEY"
# Digests standing for files whose bytes are not compared; they match no manifest entry.
NOT_REGULAR = "not a regular file"
UNREADABLE = "unreadable"


def archive_key(key_env: str = DEFAULT_KEY_ENV, required: bool = False) -> bytes | None:
    """The HMAC key from the environment variable `key_env`; ArchiveError when required and unset."""
    value = os.environ.get(key_env)
    if not value:
        if required:
            raise ArchiveError(f"{key_env}: not set (the archive key is read from this variable)")
        return None
    return value.encode("utf-8")


def file_digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Archive:
    """One archive directory. `now` is injectable so tests can age records past their retention."""

    def __init__(
        self, root: Path | str, key: bytes | None = None, now: Callable[[], datetime] | None = None
    ) -> None:
        self.root = Path(root)
        self.key = key
        self._now = now or (lambda: datetime.now(UTC))

    @property
    def manifest_path(self) -> Path:
        return self.root / chain.MANIFEST

    # ---- reading --------------------------------------------------------------------------------

    def manifest_text(self) -> str:
        try:
            return self.manifest_path.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        except OSError as exc:  # a directory, or unreadable, where the manifest should be
            raise ArchiveError(f"{self.manifest_path}: cannot read the manifest ({exc.strerror})") from None

    def entries(self) -> list[dict[str, Any]]:
        """The manifest's entries; ArchiveError when it has damaged lines (nothing is written then)."""
        parsed = chain.parse_manifest(self.manifest_text())
        if parsed.problems:
            raise ArchiveError(f"{self.manifest_path}: {parsed.problems[0]}; run `slo archive verify`")
        return parsed.entries

    def head(self) -> str:
        return chain.head(self.entries())

    def record_files(self) -> dict[str, tuple[str, int]]:
        """Every file of the archive but the manifest and the writer's own lock and temp files, path
        relative to the archive -> (sha256, bytes): anything planted outside `records/` shows too."""
        found = {}
        for path in sorted(self.root.rglob("*")):
            relative = path.relative_to(self.root).as_posix()
            if relative in (chain.MANIFEST, ".lock") or relative.startswith(".tmp/"):
                continue
            if path.is_symlink() or not (path.is_dir() or path.is_file()):
                # the archive writes regular files only: a link (even to the right bytes, which it
                # could stop being) or a device/FIFO is never what was archived, and is not read
                found[relative] = (NOT_REGULAR, -1)
            elif path.is_file():
                try:
                    found[relative] = file_digest(path)
                except OSError:
                    found[relative] = (UNREADABLE, -1)
        return found

    def verify(self, expect_head: str | None = None) -> tuple[int, list[str]]:
        if not self.root.is_dir():
            raise ArchiveError(f"{self.root}: no such archive directory")
        if not self.manifest_path.exists():
            raise ArchiveError(f"{self.manifest_path}: no manifest (not an archive directory?)")
        return chain.verify(self.manifest_text(), self.record_files(), self.key, expect_head)

    # ---- writing --------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[list[dict[str, Any]]]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                entries = self.entries()
                self._check_key(entries)
                yield entries
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _check_key(self, entries: Sequence[dict[str, Any]]) -> None:
        """Never mix signed and unsigned entries, nor two keys, in one chain."""
        if not entries:
            return
        last = entries[-1]
        signed = isinstance(last.get("signature"), str)
        if signed and self.key is None:
            raise ArchiveError(f"{self.root}: the archive is signed; set its key ({DEFAULT_KEY_ENV})")
        if not signed and self.key is not None:
            raise ArchiveError(f"{self.root}: the archive is unsigned; a key cannot be added to its chain")
        if signed and self.key is not None and last["signature"] != chain.sign(self.key, last["entry_hash"]):
            raise ArchiveError(f"{self.root}: the key does not match the archive's signatures (wrong key)")

    def _append_line(self, entry: dict[str, Any]) -> None:
        line = chain.canonical_json(entry) + b"\n"
        fd = os.open(self.manifest_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def write(self, relative: str, data: bytes, record_class: str) -> dict[str, Any]:
        """Archive `data` at `records/<relative>`; returns its manifest entry.

        ArchiveError: an unsafe path, an unknown record class, a path already archived with other
        bytes, or a manifest/key problem."""
        path = f"{chain.RECORDS}/{relative.strip('/')}"
        if not chain.is_record_path(path):
            raise ArchiveError(f"path: must be a relative path without '..' (got {relative!r})")
        chain.retain_until(self._now(), record_class)  # unknown class: refuse before touching the disk
        sha = hashlib.sha256(data).hexdigest()
        with self._locked() as entries:
            for entry in entries:
                if entry["path"] == path:
                    if entry["record_class"] != chain.TOMBSTONE and entry["sha256"] == sha:
                        return entry
                    raise ArchiveError(
                        f"{path}: already archived at seq {entry['seq']}; a path is written once"
                    )
            target = self.root / path
            if target.exists():
                if file_digest(target) != (sha, len(data)):
                    raise ArchiveError(f"{path}: a different file is already there but not in the manifest")
            else:
                self._write_file(target, data)
            entry = chain.new_entry(
                entries[-1] if entries else None, path, sha, len(data), self._now(), record_class, self.key
            )
            self._append_line(entry)
            return entry

    def _write_file(self, target: Path, data: bytes) -> None:
        temp_dir = self.root / ".tmp"
        temp_dir.mkdir(exist_ok=True)
        temp = temp_dir / f"{target.name}.{secrets.token_hex(8)}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(temp, target)  # unlike rename, refuses to replace a file that appeared meanwhile
        finally:
            temp.unlink(missing_ok=True)
        _fsync_dir(target.parent)

    def prune(self, paths: Sequence[str], pruned_by: str, reason: str) -> list[dict[str, Any]]:
        """Delete the named records (all whose retention ended when `paths` is empty), one tombstone each.

        All or nothing: one record still retained, unknown or already deleted refuses the whole call
        before anything is deleted."""
        if not pruned_by.strip() or not reason.strip():
            raise ArchiveError("prune: who prunes and why must not be empty")
        problems = self.verify()[1]
        if problems:
            raise ArchiveError(f"{self.root}: not intact ({problems[0]}); nothing deleted")
        now = self._now()
        with self._locked() as entries:
            live = {e["path"]: e for e in entries}
            if paths:
                named = (p if p.startswith(chain.RECORDS + "/") else f"{chain.RECORDS}/{p}" for p in paths)
                wanted = list(dict.fromkeys(named))
                for path in wanted:
                    if path not in live:
                        raise ArchiveError(f"{path}: not in the manifest; nothing deleted")
            else:
                wanted = [
                    p
                    for p, e in live.items()
                    if e["record_class"] != chain.TOMBSTONE and chain.parse_time(e["retain_until"]) <= now
                ]
            stones: list[dict[str, Any]] = []
            for path in wanted:  # every check before the first deletion
                previous = stones[-1] if stones else entries[-1]
                stone = chain.tombstone(previous, live[path], now, pruned_by, reason, self.key)
                stones.append(stone)
                previous = stone
            for stone in stones:
                self._append_line(stone)
                (self.root / stone["path"]).unlink(missing_ok=True)
            if stones:
                _fsync_dir(self.root)
            return stones


class ArchiveResource(dg.ConfigurableResource):
    """The archive directory (SLO_ARCHIVE_DIR) and the variable holding its HMAC key."""

    path: str = Field(default="out/archive", description="Archive directory (SLO_ARCHIVE_DIR).")
    key_env: str = Field(default=DEFAULT_KEY_ENV, description="Environment variable with the HMAC key.")
    _archive: Archive | None = PrivateAttr(default=None)

    def archive(self) -> Archive:
        if self._archive is None:
            self._archive = Archive(self.path, archive_key(self.key_env))
        return self._archive
