"""The budget report reads right in headless Chromium: every column of every table visible at the
widths people use, no console error."""

from pathlib import Path

import pytest

from slo_pipelines.reports import render_html
from tests.browser import check_page
from tests.test_reports import make_report, make_slo


@pytest.mark.parametrize("width", [1280, 1400, 1920])
def test_budget_report_shows_every_column(tmp_path: Path, width: int) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(make_report([make_slo(), make_slo("payments-availability")])))
    seen = check_page(page, width=width)
    assert seen.console_errors == []
    assert seen.cut_off == []
    assert seen.screenshot.startswith(b"\x89PNG")
