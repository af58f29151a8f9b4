"""Compliance reports (`slo report --period`): statement files per contract agree with `slo sla
evaluate`, the summary adds up, HTML is escaped, and every page reads right in headless Chromium."""

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from slo_pipelines.cli import main
from tests.browser import check_page
from tests.test_sla_cli import CATALOG, _samples


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def october(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    samples, _ = _samples(tmp_path)
    out = tmp_path / "reports"
    code, stdout, err = _run(
        capsys,
        "report",
        "--catalog",
        str(CATALOG),
        "--samples",
        str(samples),
        "--period",
        "2026-10",
        "--out",
        str(out),
    )
    assert code == 0, err
    assert stdout.splitlines()[0] == "2 contracts: 0 met, 2 missed; credits owed: 1200 EUR, 49.9995 USD"
    return out / "sla-2026-10", samples


def test_statements_agree_with_sla_evaluate(
    october: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, samples = october
    assert sorted(p.name for p in folder.iterdir()) == [
        "acme-compute.csv",
        "acme-compute.html",
        "acme-compute.json",
        "globex-storage.csv",
        "globex-storage.html",
        "globex-storage.json",
        "index.html",
        "report.json",
        "summary.csv",
    ]  # fmt: skip  (the quarterly contract has no statement for a month)
    code, out, _ = _run(
        capsys, "sla", "evaluate", "--catalog", str(CATALOG), "--samples", str(samples), "--period", "2026-10"
    )
    assert code == 0
    evaluated = {c["name"]: c for c in json.loads(out)["contracts"]}
    for name in ("acme-compute", "globex-storage"):
        statement = json.loads((folder / f"{name}.json").read_text())
        assert {k: v for k, v in statement.items() if k not in ("days", "trend")} == evaluated[name]
        assert sum(d["minutes_down"] for d in statement["days"]) == statement["minutes_down"]
        assert [p["label"] for p in statement["trend"]][-1] == "2026-10"
    rows = list(csv.reader(io.StringIO((folder / "acme-compute.csv").read_text())))
    assert rows[1][:7] == ["acme-compute", "ACME Corp", "2026-10", "UTC", "44640", "120", "120"]
    assert rows[4][1:5] == ["compute-kernel-upgrade", "maintenance", "yes", "120"]


def test_summary_counts_credits_and_trend(october: tuple[Path, Path]) -> None:
    folder, _ = october
    report = json.loads((folder / "report.json").read_text())
    assert report["summary"] == {
        "contracts": 2,
        "met": 0,
        "missed": 2,
        "missed_contracts": ["acme-compute", "globex-storage"],
        "credits_owed": [{"currency": "EUR", "amount": 1200}, {"currency": "USD", "amount": 49.9995}],
    }
    globex = next(c for c in report["contracts"] if c["name"] == "globex-storage")
    # September has data (10 down minutes), August none: it is not a trend point
    assert [p["label"] for p in globex["trend"]] == ["2026-09", "2026-10"]
    assert globex["trend"][0]["met"] is True and globex["trend"][1]["met"] is False
    assert ("acme-compute", "compute-availability", "objective_looser") in {
        (g["contract"], g["slo"], g["check"]) for g in report["gaps"]
    }
    assert "objective target 99.9 % is below the contract" in (folder / "index.html").read_text()
    summary = list(csv.DictReader(io.StringIO((folder / "summary.csv").read_text())))
    assert sum(Decimal(r["CREDIT AMOUNT"] or 0) for r in summary) == Decimal("1249.9995")


def test_html_is_escaped_and_lists_exclusions(october: tuple[Path, Path]) -> None:
    folder, _ = october
    page = (folder / "globex-storage.html").read_text()
    assert "Globex &lt;Inc&gt; &amp; Sons" in page and "Globex <Inc>" not in page
    for text in (
        "storage-regulator-shutdown",
        "Regulator-ordered shutdown of the Frankfurt site",
        "legal",
        "<svg",
    ):
        assert text in page
    assert "<script" not in page
    index = (folder / "index.html").read_text()
    assert 'href="acme-compute.html"' in index and "1,200.00 EUR" in index


def test_every_page_reads_right_in_chromium_at_1280px(october: tuple[Path, Path], tmp_path: Path) -> None:
    folder, _ = october
    for page in sorted(folder.glob("*.html")):
        seen = check_page(page, width=1280)
        assert seen.console_errors == [], (page.name, seen.console_errors)
        assert seen.cut_off == [], (page.name, seen.cut_off)
        assert seen.title.startswith("SLA ")
        assert seen.screenshot.startswith(b"\x89PNG\r\n\x1a\n") and len(seen.screenshot) > 20_000
        (tmp_path / f"{page.stem}.png").write_bytes(seen.screenshot)


def test_the_page_check_sees_errors_and_cut_off_text(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body>"
        "<div style='width:120px;overflow:hidden;white-space:nowrap'>Budget restored for every exclusion"
        "</div>"
        "<script>console.error('boom')</script><img src='missing.png'></body></html>"
    )
    seen = check_page(bad, width=1280)
    assert any("boom" in e for e in seen.console_errors)
    assert any("missing.png" in e or "ERR_FILE_NOT_FOUND" in e for e in seen.console_errors)
    assert any("Budget restored" in c and "cut off" in c for c in seen.cut_off)


def test_quarter_report_and_periods_without_contracts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples, _ = _samples(tmp_path)
    base = ["report", "--catalog", str(CATALOG), "--samples", str(samples), "--out", str(tmp_path / "r")]
    code, _, err = _run(capsys, *base, "--period", "2026-Q4")
    assert code == 0, err
    report = json.loads((tmp_path / "r" / "sla-2026-Q4" / "report.json").read_text())
    assert [c["name"] for c in report["contracts"]] == ["initech-quarterly"]
    assert report["contracts"][0]["minutes_total"] == 92 * 1440 + 60
    empty = tmp_path / "no-quarterly"
    empty.mkdir()
    for f in ("services.yaml", "exclusions.yaml"):
        (empty / f).write_text((CATALOG / f).read_text())
    code, _, err = _run(
        capsys, "report", "--catalog", str(empty), "--samples", str(samples), "--period", "2026-Q4"
    )
    assert code == 2 and err.startswith("slo: error: --period 2026-Q4:") and "no quarterly SLAContract" in err
