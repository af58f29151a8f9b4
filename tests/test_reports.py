"""Budget report rendering: escaping, chart geometry, canonical JSON, Markdown preview, atomic files."""

import copy
import json
import os
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from slo_pipelines.reports import (
    ReportError,
    burn_down_svg,
    render_budget_files,
    render_html,
    render_json,
    render_markdown_summary,
)
from slo_pipelines.resources.report_store import write_files

SVG = "{http://www.w3.org/2000/svg}"
MARCH_1 = 1772323200  # 2026-03-01T00:00:00Z


def make_slo(name: str = "checkout-availability", **overrides: Any) -> dict[str, Any]:
    slo: dict[str, Any] = {
        "name": name,
        "service": "checkout",
        "objective": "availability",
        "budgeting_method": "Occurrences",
        "target": 0.999,
        "window": {"start": "2026-03-01T00:00:00Z", "end": "2026-03-31T00:00:00Z"},
        "good": 998_712,
        "total": 1_000_000,
        "sli": 0.998712,
        "excluded_seconds": 7200.0,
        "coverage": 0.9987,
        "error_budget": {"allowed_bad": 1000.0, "consumed_bad": 1288.0, "remaining_ratio": -0.288},
        "burn_rates": {"5m": 22.1, "30m": 18.4, "1h": 15.2, "2h": 9.1, "6h": 6.3, "1d": 2.1, "3d": None},
        "alerts": [{"severity": "page", "long_window": "1h", "short_window": "5m", "threshold": 14.4}],
        "status": "breach",
        "digest": {"catalog": "sha256:aa", "buckets": "sha256:bb"},
        "exclusions": [
            {
                "name": "db-upgrade",
                "category": "maintenance",
                "reason": "Primary database major upgrade",
                "approved_by": "change-board",
                "start": "2026-03-08T02:00:00+00:00",
                "end": "2026-03-08T04:00:00+00:00",
                "excluded_seconds": 7200,
            }
        ],
        "series": {
            "t": [MARCH_1 + h * 3600 for h in range(48)],
            "remaining_ratio": [1 - h * 0.03 for h in range(48)],
            "sli": [0.999] * 48,
        },
    }
    slo.update(overrides)
    return slo


def make_report(slos: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "title": "March 2026 budgets",
        "generated_at": "2026-03-31T00:05:00Z",
        "at": "2026-03-31T00:00:00Z",
        "catalog_digest": "sha256:aa",
        "slos": [make_slo()] if slos is None else slos,
    }


def plot_area(root: ET.Element) -> dict[str, float]:
    rect = next(el for el in root.iter(f"{SVG}rect") if el.get("class") == "plot-area")
    return {
        "x": float(rect.get("x", "nan")),
        "y": float(rect.get("y", "nan")),
        "w": float(rect.get("width", "nan")),
        "h": float(rect.get("height", "nan")),
        "t_min": float(rect.get("data-t-min", "nan")),
        "t_max": float(rect.get("data-t-max", "nan")),
        "y_min": float(rect.get("data-y-min", "nan")),
        "y_max": float(rect.get("data-y-max", "nan")),
    }


def polylines(root: ET.Element) -> list[list[tuple[float, float]]]:
    lines = []
    for el in root.iter(f"{SVG}polyline"):
        if el.get("class") == "budget-line":
            pairs = (p.split(",") for p in el.get("points", "").split())
            lines.append([(float(x), float(y)) for x, y in pairs])
    return lines


# --- HTML --------------------------------------------------------------------------------------------------


def test_html_escapes_malicious_name_reason_and_approver() -> None:
    exclusion = dict(make_slo()["exclusions"][0])
    exclusion.update(reason="<img src=x onerror=alert(1)>", approved_by='"><b>mallory</b>')
    slo = make_slo(name='<script>alert("pwned")</script>', exclusions=[exclusion])
    html = render_html(make_report([slo]))

    assert "<script" not in html
    assert "<img" not in html
    assert "<b>mallory" not in html
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&#34;&gt;&lt;b&gt;mallory&lt;/b&gt;" in html


def test_html_chart_title_escapes_slo_name_and_stays_well_formed() -> None:
    html = render_html(make_report([make_slo(name="a<b & c>d")]))
    svg_text = re.search(r"<svg.*?</svg>", html, re.S)
    assert svg_text is not None
    root = ET.fromstring(svg_text.group(0))
    title = root.find(f"{SVG}title")
    assert title is not None and title.text is not None
    assert "a<b & c>d" in title.text


def test_unknown_status_never_becomes_a_css_class() -> None:
    html = render_html(make_report([make_slo(status='ok" onmouseover="x')]))
    assert 'onmouseover="x' not in html
    assert 'class="badge unknown"' in html
    assert "ok&#34; onmouseover=&#34;x" in html


def test_html_is_one_self_contained_file_with_a_card_and_chart_per_slo() -> None:
    slos = [make_slo(f"slo-{i}") for i in range(3)]
    html = render_html(make_report(slos))
    assert "<style>" in html
    assert "<link" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert html.count("<svg") == 3
    assert html.count('<section class="card') == 3
    for i in range(3):
        assert f'href="#slo-{i + 1}"' in html and f'id="slo-{i + 1}"' in html


def test_html_formats_numbers_and_lists_exclusions() -> None:
    html = render_html(make_report())
    assert "99.8712 %" in html  # SLI, 4 decimals
    assert "99.9 %" in html  # target
    assert "-28.80 %" in html  # remaining budget
    assert "998,712" in html
    assert "22.10×" in html
    for text in ("db-upgrade", "maintenance", "Primary database major upgrade", "change-board"):
        assert f"<td>{text}</td>" in html
    assert "2026-03-08 02:00 UTC" in html and "2026-03-08 04:00 UTC" in html
    assert ">2 h</td>" in html
    assert "page 1h/5m &gt; 14.4" in html


def test_html_shows_dash_for_missing_values() -> None:
    slo = make_slo(
        sli=None,
        coverage=None,
        status="no_data",
        error_budget={"allowed_bad": None, "consumed_bad": None, "remaining_ratio": None},
        burn_rates=dict.fromkeys(("5m", "30m", "1h", "2h", "6h", "1d", "3d")),
        alerts=[],
        exclusions=[],
        series={"t": [], "remaining_ratio": []},
    )
    html = render_html(make_report([slo]))
    assert re.search(r'<div class="label">SLI</div><div class="value">—</div>', html)
    burns = re.search(r'<table class="burns">.*?</table>', html, re.S)
    assert burns is not None
    assert burns.group(0).count('<td class="num">—</td>') == 7  # one per window
    assert "No alert is firing." in html
    assert "No exclusion touched this window." in html
    assert "No budget data in this window" in html
    assert "None" not in html and "nan" not in html


def test_html_marks_burn_windows_of_firing_alerts() -> None:
    html = render_html(make_report())
    alerting = re.findall(r'<td class="num alerting">([^<]+)</td>', html)
    assert alerting == ["22.10×", "15.20×"]  # 5m and 1h, the pair that fires


# --- SVG ---------------------------------------------------------------------------------------------------


def test_svg_is_well_formed_with_accessible_title() -> None:
    svg = burn_down_svg([0, 60, 120], [1.0, 0.5, 0.25], 640, 220, title="Budget <of> 'x' & \"y\"")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert (root.get("width"), root.get("height")) == ("640", "220")
    first = root[0]
    assert first.tag == f"{SVG}title"
    assert first.text == "Budget <of> 'x' & \"y\""


def test_polyline_maps_extremes_to_plot_edges() -> None:
    t = [MARCH_1, MARCH_1 + 3600, MARCH_1 + 7200]
    root = ET.fromstring(burn_down_svg(t, [1.0, 0.5, 0.0], 640, 220))
    area = plot_area(root)
    assert (area["y_min"], area["y_max"]) == (0.0, 1.0)
    [line] = polylines(root)
    assert line[0] == pytest.approx((area["x"], area["y"]), abs=0.01)  # earliest, 100 %: top left
    assert line[-1] == pytest.approx((area["x"] + area["w"], area["y"] + area["h"]), abs=0.01)  # bottom right
    assert line[1] == pytest.approx((area["x"] + area["w"] / 2, area["y"] + area["h"] / 2), abs=0.01)


def test_polyline_points_follow_a_linear_scale_including_overspend() -> None:
    t = [MARCH_1 + i * 86400 for i in range(5)]
    values = [1.0, 0.4, -0.7, -1.3, 0.2]
    root = ET.fromstring(burn_down_svg(t, values, 800, 300))
    area = plot_area(root)
    assert area["y_min"] <= -1.3 and area["y_max"] >= 1.0
    assert area["y_max"] - area["y_min"] < 4  # the domain is not padded absurdly
    [line] = polylines(root)
    assert len(line) == len(values)
    for (x, y), ts, value in zip(line, t, values, strict=True):
        assert x == pytest.approx(area["x"] + (ts - t[0]) / (t[-1] - t[0]) * area["w"], abs=0.01)
        expected_y = area["y"] + (area["y_max"] - value) / (area["y_max"] - area["y_min"]) * area["h"]
        assert y == pytest.approx(expected_y, abs=0.01)
    lowest = max(line, key=lambda point: point[1])
    assert lowest == line[values.index(min(values))]
    zero = next(el for el in root.iter(f"{SVG}line") if el.get("class") == "zero-line")
    expected_zero = area["y"] + area["y_max"] / (area["y_max"] - area["y_min"]) * area["h"]
    assert float(zero.get("y1", "nan")) == pytest.approx(expected_zero, abs=0.01)


def test_none_and_nan_values_break_the_line() -> None:
    t = [MARCH_1 + i * 600 for i in range(8)]
    values: list[float | None] = [1.0, 0.9, None, 0.7, 0.6, float("nan"), 0.4, None]
    root = ET.fromstring(burn_down_svg(t, values, 640, 220))
    area = plot_area(root)
    lines = polylines(root)
    assert [len(line) for line in lines] == [2, 2]
    points = [el for el in root.iter(f"{SVG}circle") if el.get("class") == "budget-point"]
    assert len(points) == 1  # the isolated 0.4 reading
    drawn_x = {round(x, 1) for line in lines for x, _ in line} | {round(float(points[0].get("cx", "0")), 1)}
    for i in (2, 5, 7):
        gap_x = round(area["x"] + (t[i] - t[0]) / (t[-1] - t[0]) * area["w"], 1)
        assert gap_x not in drawn_x


def test_date_labels_are_utc_and_sit_at_their_instant() -> None:
    t = [MARCH_1 + d * 86400 for d in range(31)]
    root = ET.fromstring(burn_down_svg(t, [1 - d / 40 for d in range(31)], 900, 240))
    area = plot_area(root)
    labels = [el for el in root.iter(f"{SVG}text") if el.get("class") == "x-label"]
    assert len(labels) >= 3
    for label in labels:
        instant = datetime.strptime(label.text or "", "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
        expected_x = area["x"] + (instant - area["t_min"]) / (area["t_max"] - area["t_min"]) * area["w"]
        assert float(label.get("x", "nan")) == pytest.approx(expected_x, abs=0.01)


def test_long_series_is_thinned_but_keeps_extremes() -> None:
    n = 100_000
    t = [MARCH_1 + i * 60 for i in range(n)]
    values = [1 - i / n for i in range(n)]
    values[54_321] = -0.9  # a single deep dip must survive thinning
    root = ET.fromstring(burn_down_svg(t, values, 640, 220))
    area = plot_area(root)
    [line] = polylines(root)
    assert len(line) <= 4 * area["w"]
    bottom = area["y"] + (area["y_max"] + 0.9) / (area["y_max"] - area["y_min"]) * area["h"]
    assert max(y for _, y in line) == pytest.approx(bottom, abs=0.01)


def test_empty_series_draws_axes_and_says_no_data() -> None:
    root = ET.fromstring(burn_down_svg([], [], 640, 220))
    assert polylines(root) == []
    texts = [el.text for el in root.iter(f"{SVG}text")]
    assert "No budget data in this window" in texts
    assert any(el.get("class") == "zero-line" for el in root.iter(f"{SVG}line"))


def test_svg_rejects_mismatched_series() -> None:
    with pytest.raises(ValueError, match=r"differ in length \(2 vs 3\)"):
        burn_down_svg([0, 1], [1.0, 0.9, 0.8], 640, 220)


# --- JSON --------------------------------------------------------------------------------------------------


def test_json_round_trips_with_series() -> None:
    report = make_report([make_slo("a"), make_slo("b", status="ok")])
    assert json.loads(render_json(report)) == report


def test_json_is_canonical_and_turns_nan_into_null() -> None:
    slo = make_slo(sli=float("nan"))
    slo["series"] = {"t": [MARCH_1, MARCH_1 + 60], "remaining_ratio": [np.float64("nan"), np.float64(0.5)]}
    report = make_report([slo])
    reordered = dict(reversed(list(copy.deepcopy(report).items())))
    text = render_json(report)
    assert text == render_json(reordered)
    assert "NaN" not in text
    parsed = json.loads(text)
    assert parsed["slos"][0]["sli"] is None
    assert parsed["slos"][0]["series"]["remaining_ratio"] == [None, 0.5]
    assert list(parsed) == sorted(parsed)


# --- Markdown ----------------------------------------------------------------------------------------------


def table_rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("| ") and not line.startswith("| SLO ")]


def test_markdown_table_is_truncated_to_max_rows_worst_first() -> None:
    slos = [make_slo(f"ok-{i}", status="ok", alerts=[]) for i in range(24)]
    slos.insert(7, make_slo("burning", status="breach"))
    markdown = render_markdown_summary(make_report(slos), max_rows=20)
    rows = table_rows(markdown)
    assert len(rows) == 20
    assert rows[0].startswith("| burning |")
    assert "5 more SLOs not shown" in markdown
    assert "1 breach, 24 ok" in markdown


def test_markdown_rows_match_slos_and_cells_are_escaped() -> None:
    slos = [make_slo("a|b<i>", status="warning"), make_slo("c", status="ok", sli=None, alerts=[])]
    markdown = render_markdown_summary(make_report(slos))
    rows = table_rows(markdown)
    assert len(rows) == 2
    assert "not shown" not in markdown
    first = rows[0]
    assert first.startswith(r"| a\|b&lt;i&gt; |")
    assert len(re.split(r"(?<!\\)\|", first)) == 8  # 6 cells between 7 unescaped pipes
    assert "| 99.8712 | -28.80 |" in first
    assert "page 1h/5m &gt; 14.4" in first
    assert "| — |" in rows[1]


def test_markdown_rejects_a_non_positive_row_limit() -> None:
    with pytest.raises(ReportError, match=r"max_rows: must be at least 1 \(got 0\)"):
        render_markdown_summary(make_report(), max_rows=0)


def write_report(report: Any, out: Path) -> dict[str, Path]:
    return write_files(out, render_budget_files(report))


# --- files and validation ----------------------------------------------------------------------------------


def test_write_report_writes_three_files_atomically(tmp_path: Path) -> None:
    out = tmp_path / "reports" / "2026-03"
    report = make_report()
    paths = write_report(report, out)
    assert paths == {"html": out / "report.html", "json": out / "report.json", "md": out / "report.md"}
    assert sorted(os.listdir(out)) == ["report.html", "report.json", "report.md"]
    assert paths["html"].read_text(encoding="utf-8") == render_html(report)
    assert json.loads(paths["json"].read_text(encoding="utf-8")) == report
    assert paths["md"].read_text(encoding="utf-8") == render_markdown_summary(report)


def test_failed_write_keeps_previous_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_report(make_report(), tmp_path)
    before = (tmp_path / "report.html").read_text(encoding="utf-8")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_report(make_report([make_slo("other")]), tmp_path)
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == before
    assert sorted(os.listdir(tmp_path)) == ["report.html", "report.json", "report.md"]


def test_invalid_report_names_the_field_and_writes_nothing(tmp_path: Path) -> None:
    slo = make_slo()
    slo["burn_rates"]["1h"] = "fast"
    with pytest.raises(ReportError) as caught:
        write_report(make_report([slo]), tmp_path / "out")
    assert str(caught.value) == "report.slos[0].burn_rates.1h: expected a number or null (got 'fast')"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("slos"), "report.slos: expected a list of SLO results (got None)"),
        (lambda r: r["slos"][0].update(name=""), "report.slos[0].name: expected a non-empty string (got '')"),
        (
            lambda r: r["slos"][0]["series"]["remaining_ratio"].pop(),
            "report.slos[0].series: t and remaining_ratio differ in length (48 vs 47)",
        ),
        (
            lambda r: r["slos"][0]["series"]["t"].__setitem__(3, "noon"),
            "report.slos[0].series.t[3]: expected epoch seconds (got 'noon')",
        ),
    ],
)
def test_report_errors_are_one_line_and_precise(mutate: Any, message: str) -> None:
    report = make_report()
    mutate(report)
    with pytest.raises(ReportError) as caught:
        render_json(report)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


def test_slos_are_grouped_by_user_journey() -> None:
    report = make_report([make_slo("checkout-latency"), make_slo("search-availability")])
    report["journeys"] = {"checkout <b>": ["checkout-latency", "not-evaluated"], "empty": ["nothing"]}
    html = render_html(report)
    section = html[html.index("User journeys") :]
    assert "checkout &lt;b&gt;" in section  # journey names are escaped like everything else
    row = section[section.index("checkout &lt;b&gt;") : section.index("empty")]
    assert "checkout-latency" in row and "search-availability" not in row
    assert "no results" in section[section.index("empty") :]
    assert "User journeys" not in render_html(make_report())
