"""Repository-wide pytest setting: with ``SOFTOBJ_NO_SKIP=1`` (``.ci/run`` sets it) a test that
would be skipped fails instead, so that CI cannot pass by leaving torch, the YOLOv5 wheels or
the binary out. Every Python test directory (``python/tests``, ``tests/yolov5``,
``fixtures/export``) sits below this file, so pytest loads it for all of them.
"""

from __future__ import annotations

import os

import pytest


def _no_skip() -> bool:
    return os.environ.get("SOFTOBJ_NO_SKIP") == "1"


def _fail(report) -> None:
    report.outcome = "failed"
    report.longrepr = f"skipped, but SOFTOBJ_NO_SKIP=1 requires every test to run: {report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if _no_skip() and report.skipped and not hasattr(report, "wasxfail"):
        _fail(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if _no_skip() and report.skipped:
        _fail(report)
