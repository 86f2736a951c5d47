"""``_logs``: counted nouns, and per-page progress throttled to a few INFO lines, with a mocked clock."""

from __future__ import annotations

import itertools
import logging

import pytest
from pytest_mock import MockerFixture

from airflow_provider_codat._logs import PROGRESS_PAGES, PROGRESS_SECONDS, PageProgress, counted

log = logging.getLogger("tests.progress")


def test_counted() -> None:
    assert [counted(n, "parquet part") for n in (0, 1, 2)] == [
        "0 parquet parts",
        "1 parquet part",
        "2 parquet parts",
    ]
    assert counted(1, "company", "companies") == "1 company"
    assert counted(12, "company", "companies") == "12 companies"


def pull(pages: int, caplog: pytest.LogCaptureFixture) -> list[int]:
    """Log ``pages`` pages through one PageProgress; return the page numbers logged at INFO."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger=log.name):
        progress = PageProgress(log)
        for number in range(1, pages + 1):
            progress.page(number == pages, "page %d of %d", number, pages)
    assert len(caplog.records) == pages  # every page has its line, at INFO or at DEBUG
    return [int(r.getMessage().split()[1]) for r in caplog.records if r.levelno == logging.INFO]


@pytest.mark.parametrize(
    ("seconds_per_page", "info_pages"),
    [
        (0.0, [1, 200]),  # a fast pull: the first page and the last
        (PROGRESS_SECONDS / 20, [1, 21, 41, 61, 81, 101, 121, 141, 161, 181, 200]),  # one line per 10 s
        (1.0, [1, *range(1 + PROGRESS_PAGES, 200, PROGRESS_PAGES), 200]),  # one per 10 pages
        (120.0, [1, *range(1 + PROGRESS_PAGES, 200, PROGRESS_PAGES), 200]),  # slow: still one per 10 pages
    ],
)
def test_a_million_records_write_a_few_info_lines(
    mocker: MockerFixture, caplog: pytest.LogCaptureFixture, seconds_per_page: float, info_pages: list[int]
) -> None:
    """1,000,000 records are 200 pages of 5000: at most 22 INFO lines, the first and the last among them."""
    clock = (i * seconds_per_page for i in itertools.count())
    mocker.patch("airflow_provider_codat._logs.monotonic", side_effect=lambda: next(clock))
    logged = pull(200, caplog)
    assert logged == info_pages
    assert len(logged) <= 2 + 200 // PROGRESS_PAGES


def test_a_short_pull_logs_its_first_and_last_page(
    mocker: MockerFixture, caplog: pytest.LogCaptureFixture
) -> None:
    mocker.patch("airflow_provider_codat._logs.monotonic", return_value=5.0)
    assert pull(1, caplog) == [1]
    assert pull(2, caplog) == [1, 2]
    assert pull(3, caplog) == [1, 3]
