"""The compliance archive (DESIGN.md §10): the chain rules, atomic writes, retention, and `slo archive
verify` catching every kind of tampering, checked against an independent reading of the format."""

import hashlib
import hmac
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from slo_pipelines.cli import main
from slo_pipelines.engine.archive import chain
from slo_pipelines.engine.archive.chain import ArchiveError
from slo_pipelines.resources.archive import Archive

KEY = "correct horse battery staple"
T0 = datetime(2026, 11, 1, 0, 5, tzinfo=UTC)


def _independent_hash(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k not in ("entry_hash", "signature")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _build(root: Path, key: str | None = KEY, now: datetime = T0) -> Archive:
    archive = Archive(root, key.encode() if key else None, now=lambda: now)
    archive.write("2026-10/budget-report/report.html", b"<html>Budgets \xc3\xa9</html>\n", "budget_report")
    archive.write("2026-10/budget-report/report.json", b'{"slos": []}\n', "budget_report")
    archive.write("2026-10/exclusions.json", b'{"exclusions": [{"id": "exc-1"}]}\n', "exclusions")
    archive.write("2026-10/digests.json", b'{"catalog": "abc"}\n', "digests")
    return archive


def _lines(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]


def _write_lines(root: Path, entries: list[dict]) -> None:
    text = "".join(
        json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n" for e in entries
    )
    (root / "manifest.jsonl").write_text(text, encoding="utf-8")


def _verify(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[str]]:
    code = main(["archive", "verify", str(root), *extra])
    out = capsys.readouterr().out.strip().splitlines()
    return code, out


@pytest.fixture
def signed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SLO_ARCHIVE_KEY", KEY)
    root = tmp_path / "archive"
    _build(root)
    return root


def test_manifest_follows_the_documented_format(signed: Path) -> None:
    entries = _lines(signed)
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    assert entries[0]["prev_hash"] == "0" * 64
    for before, entry in itertools.pairwise(entries):
        assert entry["prev_hash"] == before["entry_hash"]
    for entry in entries:
        assert set(entry) == {*chain.BASE_FIELDS, "signature"}
        assert entry["entry_hash"] == _independent_hash(entry)
        expected_sig = hmac.new(KEY.encode(), entry["entry_hash"].encode(), hashlib.sha256).hexdigest()
        assert entry["signature"] == expected_sig
        data = (signed / entry["path"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
    assert entries[0]["path"] == "records/2026-10/budget-report/report.html"
    assert entries[0]["created_at"] == "2026-11-01T00:05:00Z"
    assert entries[0]["retain_until"] == "2029-11-01T00:05:00Z"  # budget reports: 3 years
    assert entries[2]["retain_until"] == "2033-11-01T00:05:00Z"  # exclusions: 7 years
    assert not list((signed / ".tmp").iterdir())


def test_intact_archive_verifies(signed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = _lines(signed)[-1]["entry_hash"]
    code, out = _verify(signed, capsys, "--expect-head", head)
    assert (code, out[-1]) == (0, "4 records verified")


def test_leap_day_retention() -> None:
    assert chain.retain_until(datetime(2028, 2, 29, tzinfo=UTC), "sla_statement") == datetime(
        2035, 2, 28, tzinfo=UTC
    )


def test_path_is_written_once_and_rewrites_are_idempotent(signed: Path) -> None:
    archive = Archive(signed, KEY.encode(), now=lambda: T0)
    again = archive.write("2026-10/budget-report/report.json", b'{"slos": []}\n', "budget_report")
    assert again["seq"] == 2 and len(_lines(signed)) == 4
    with pytest.raises(ArchiveError, match="written once"):
        archive.write("2026-10/budget-report/report.json", b'{"slos": [1]}\n', "budget_report")
    with pytest.raises(ArchiveError, match="path"):
        archive.write("../escape.txt", b"x", "budget_report")
    with pytest.raises(ArchiveError, match="record_class"):
        archive.write("2026-10/other.txt", b"x", "scratch")
    assert len(_lines(signed)) == 4


def test_writer_refuses_missing_or_wrong_key(signed: Path) -> None:
    with pytest.raises(ArchiveError, match="signed"):
        Archive(signed, None).write("2026-11/x.json", b"{}", "digests")
    with pytest.raises(ArchiveError, match="wrong key"):
        Archive(signed, b"not the key").write("2026-11/x.json", b"{}", "digests")
    assert len(_lines(signed)) == 4 and not (signed / "records/2026-11").exists()


def test_modified_file(signed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (signed / "records/2026-10/exclusions.json").write_bytes(b'{"exclusions": []}\n')
    code, out = _verify(signed, capsys)
    assert code == 1
    assert out == ["records/2026-10/exclusions.json: modified (seq 3: sha256 or size differs)"]


def test_missing_and_unexpected_files(signed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (signed / "records/2026-10/digests.json").unlink()
    (signed / "records/2026-10/planted.html").write_text("<p>not archived</p>")
    code, out = _verify(signed, capsys)
    assert code == 1
    assert out == [
        "records/2026-10/digests.json: missing (seq 4)",
        "records/2026-10/planted.html: unexpected (not in the manifest)",
    ]


@pytest.mark.parametrize(
    ("edit", "broken"),
    [
        (
            lambda es: [es[0], es[2], es[1], es[3]],
            ["chain broken at seq 3", "chain broken at seq 2", "chain broken at seq 4"],
        ),
        (lambda es: [es[0], es[1], es[3]], ["chain broken at seq 4"]),
        (lambda es: [es[0], es[1], es[1], es[2], es[3]], ["chain broken at seq 2"]),
    ],
    ids=["reordered", "removed", "inserted"],
)
def test_chain_breaks(signed: Path, capsys: pytest.CaptureFixture[str], edit, broken) -> None:
    _write_lines(signed, edit(_lines(signed)))
    code, out = _verify(signed, capsys)
    assert code == 1
    assert [line.split(":")[0] for line in out if line.startswith("chain broken")] == broken


def test_removed_entry_leaves_its_file_unexpected(signed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entries = _lines(signed)
    _write_lines(signed, [entries[0], entries[1], entries[3]])
    code, out = _verify(signed, capsys)
    assert code == 1
    assert "records/2026-10/exclusions.json: unexpected (not in the manifest)" in out


def test_edited_entry_without_rehash(signed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entries = _lines(signed)
    entries[2]["retain_until"] = "2027-01-01T00:00:00Z"
    _write_lines(signed, entries)
    code, out = _verify(signed, capsys)
    assert code == 1 and out[0].startswith("seq 3: modified entry")


def test_whole_chain_rewrite_without_the_key(
    signed: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An attacker replaces a record and recomputes every hash; only the key or a known head catches it."""
    original_head = _lines(signed)[-1]["entry_hash"]
    forged = b'{"exclusions": [{"id": "exc-1"}, {"id": "exc-forged"}]}\n'
    (signed / "records/2026-10/exclusions.json").write_bytes(forged)
    entries = _lines(signed)
    previous = "0" * 64
    for entry in entries:
        if entry["path"].endswith("exclusions.json"):
            entry["sha256"], entry["bytes"] = hashlib.sha256(forged).hexdigest(), len(forged)
        entry["prev_hash"] = previous
        entry["entry_hash"] = previous = _independent_hash(entry)
    _write_lines(signed, entries)

    code, out = _verify(signed, capsys)
    assert code == 1
    assert out == [f"seq {n}: bad signature ({entries[n - 1]['path']})" for n in (3, 4)]

    # without any key, the rewrite is consistent: the recorded head is what catches it
    monkeypatch.delenv("SLO_ARCHIVE_KEY")
    code, out = _verify(signed, capsys)
    assert (code, out[-1]) == (0, "4 records verified")
    code, out = _verify(signed, capsys, "--expect-head", original_head)
    assert code == 1 and out == [f"head mismatch: manifest head is {previous}, expected {original_head}"]


def test_wrong_key_and_missing_key(signed: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.setenv("OTHER_KEY", "guess")
    code, out = _verify(signed, capsys, "--key-env", "OTHER_KEY")
    assert code == 1 and out == [
        f"seq {n}: bad signature ({e['path']})" for n, e in enumerate(_lines(signed), 1)
    ]
    code = main(["archive", "verify", str(signed), "--key-env", "UNSET_ARCHIVE_KEY_VAR"])
    err = capsys.readouterr().err
    assert (
        code == 2
        and err.strip() == "slo: error: --key-env: variable UNSET_ARCHIVE_KEY_VAR is not set or empty"
    )


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda text: text[: len(text) - 30], "manifest.jsonl line 4: not a JSON object"),
        (lambda text: text + "garbage\n", "manifest.jsonl line 5: not a JSON object"),
        (lambda text: text + '{"seq": 5}\n', "manifest.jsonl line 5: missing field 'path'"),
    ],
    ids=["truncated", "garbage", "incomplete"],
)
def test_damaged_manifest(signed: Path, capsys: pytest.CaptureFixture[str], damage, expected) -> None:
    path = signed / "manifest.jsonl"
    path.write_text(damage(path.read_text()))
    code, out = _verify(signed, capsys)
    assert code == 1 and out[0].startswith(expected)
    with pytest.raises(ArchiveError, match=r"manifest\.jsonl"):
        Archive(signed, KEY.encode()).write("2026-11/x.json", b"{}", "digests")


def test_prune_refuses_before_retention(signed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (signed / "manifest.jsonl").read_bytes()
    code = main(
        ["archive", "prune", str(signed), "records/2026-10/budget-report/report.json", "--by", "carol"]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip() == (
        "slo: error: records/2026-10/budget-report/report.json: retained until 2029-11-01T00:05:00Z "
        "(budget_report); nothing deleted"
    )
    assert (signed / "manifest.jsonl").read_bytes() == before
    assert (signed / "records/2026-10/budget-report/report.json").exists()
    assert main(["archive", "prune", str(signed)]) == 0  # nothing expired: nothing deleted
    assert (signed / "manifest.jsonl").read_bytes() == before


def test_prune_after_retention_leaves_a_verifiable_tombstone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLO_ARCHIVE_KEY", KEY)
    monkeypatch.setenv("SLO_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    root = tmp_path / "archive"
    _build(root, now=datetime(2018, 3, 1, tzinfo=UTC))  # budget reports expired in 2021, the rest in 2025
    Archive(root, KEY.encode()).write("2026-10/sla.json", b"{}", "sla_statement")
    code = main(["archive", "prune", str(root), "--by", "carol", "--reason", "retention ended"])
    out = capsys.readouterr().out
    assert code == 0 and "4 records pruned" in out
    entries = _lines(root)
    stones = entries[5:]
    assert [s["tombstone_of"] for s in stones] == [1, 2, 3, 4]
    assert all(s["record_class"] == "tombstone" and s["retain_until"] is None for s in stones)
    assert all(
        s["pruned_by"] == "carol" and s["sha256"] == entries[s["tombstone_of"] - 1]["sha256"] for s in stones
    )
    assert sorted(p.name for p in (root / "records/2026-10").rglob("*") if p.is_file()) == ["sla.json"]
    code, out = _verify(root, capsys)
    assert (code, out[-1]) == (0, "9 records verified")
    from slo_pipelines.resources.warehouse import WarehouseResource

    [logged] = WarehouseResource(url=f"sqlite:///{tmp_path / 'w.db'}").read_audit_log()
    assert (logged["actor"], logged["action"], logged["reason"]) == (
        "carol",
        "archive.prune",
        "retention ended",
    )
    assert logged["details"]["head"] == entries[-1]["entry_hash"] and len(logged["details"]["paths"]) == 4
    # a deleted record that comes back is flagged
    (root / "records/2026-10/digests.json").write_text('{"catalog": "abc"}\n')
    code, out = _verify(root, capsys)
    assert code == 1 and out == [
        "records/2026-10/digests.json: unexpected (deleted by tombstone seq 9 but present)"
    ]


def test_forged_early_tombstone_is_caught(signed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entries = _lines(signed)
    target = entries[0]
    stone = chain.new_entry(
        entries[-1],
        target["path"],
        target["sha256"],
        target["bytes"],
        T0,
        "tombstone",
        KEY.encode(),
        {"tombstone_of": 1, "pruned_by": "mallory", "reason": "cover-up"},
    )
    _write_lines(signed, [*entries, stone])
    (signed / target["path"]).unlink()
    code, out = _verify(signed, capsys)
    assert code == 1
    assert out == [f"seq 5: {target['path']} deleted before its retention ended (2029-11-01T00:05:00Z)"]


def test_unsigned_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.delenv("SLO_ARCHIVE_KEY", raising=False)
    root = tmp_path / "plain"
    _build(root, key=None)
    assert all("signature" not in e for e in _lines(root))
    code, out = _verify(root, capsys)
    assert (code, out[-1]) == (0, "4 records verified")
    monkeypatch.setenv("SLO_ARCHIVE_KEY", KEY)
    code, out = _verify(root, capsys)
    assert (
        code == 1
        and out[0] == "seq 1: bad signature (records/2026-10/budget-report/report.html): entry is not signed"
    )


def test_verify_of_a_directory_that_is_no_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["archive", "verify", str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().err.startswith("slo: error: ")
    assert main(["archive", "verify", str(tmp_path)]) == 1
    assert "no manifest" in capsys.readouterr().err


def test_the_auditors_own_script_agrees(signed: Path, tmp_path: Path) -> None:
    """docs/auditors.md's stand-alone script accepts the archive, prints its head and catches a change."""
    import re
    import subprocess
    import sys

    doc = (Path(__file__).parents[1] / "docs/auditors.md").read_text()
    script = tmp_path / "check_archive.py"
    script.write_text(re.search(r"```python\n(.*?)```", doc, re.S).group(1))  # type: ignore[union-attr]
    run = subprocess.run([sys.executable, str(script), str(signed), KEY], capture_output=True, text=True)
    assert (
        run.returncode == 0 and run.stdout.strip() == f"head {_lines(signed)[-1]['entry_hash']}; 0 problems"
    )
    (signed / "records/2026-10/digests.json").write_text("{}")
    run = subprocess.run([sys.executable, str(script), str(signed), "wrong"], capture_output=True, text=True)
    assert run.returncode == 1
    assert "records/2026-10/digests.json: missing or modified" in run.stdout
    assert run.stdout.count("signature does not match") == 4


def test_files_planted_outside_records_are_unexpected(
    signed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (signed / "notes.txt").write_text("not archived")
    code, out = _verify(signed, capsys)
    assert code == 1 and out == ["notes.txt: unexpected (not in the manifest)"]


def test_links_fifos_and_odd_names_are_problems_not_tracebacks(
    signed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    records = signed / "records/2026-10"
    # a record swapped for a link to the same bytes: not what was archived, the target can change
    (records / "exclusions.json").rename(records / "moved.json")
    (records / "exclusions.json").symlink_to("moved.json")
    (records / "dangling").symlink_to("/nonexistent/target")
    (records / "to-a-directory").symlink_to(signed.parent)
    os.mkfifo(records / "fifo")
    (records / "two\nlines").write_text("x")
    code, out = _verify(signed, capsys)
    assert code == 1
    assert out == [
        "records/2026-10/exclusions.json: modified (seq 3: not a regular file)",
        "records/2026-10/dangling: unexpected (not in the manifest)",
        "records/2026-10/fifo: unexpected (not in the manifest)",
        "records/2026-10/moved.json: unexpected (not in the manifest)",
        "records/2026-10/to-a-directory: unexpected (not in the manifest)",
        "records/2026-10/two\\nlines: unexpected (not in the manifest)",
    ]


def test_a_directory_in_place_of_the_manifest_is_one_error(
    signed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (signed / "manifest.jsonl").unlink()
    (signed / "manifest.jsonl").mkdir()
    assert main(["archive", "verify", str(signed)]) == 1
    err = capsys.readouterr().err
    assert err == f"slo: error: {signed}/manifest.jsonl: cannot read the manifest (Is a directory)\n"
