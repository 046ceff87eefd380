"""Every fixture through the Python API gives the command line's answer, bit for bit."""

from __future__ import annotations

import json

import pytest

import soft_objectness as so
from conftest import FIXTURES, fixture_paths, json_form, load_json, run

PATHS = fixture_paths()


def test_there_are_fixtures():
    assert len(PATHS) >= 88


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_fixture_equals_cli(path, softobj, monkeypatch):
    want = json.loads(run(softobj, "eval", "--compact", path).stdout)
    # From the file (the case reader, .npy references beside the file).
    got = json_form(so.evaluate_case(path).to_answer())
    assert got == want
    # From the dict form of load_case: arrays taken as they are.
    case = so.load_case(path)
    assert json_form(so.evaluate(*_parts(case)).to_answer()) == want
    # From the JSON form, as json.load gives it (.npy references relative to the folder).
    monkeypatch.chdir(FIXTURES)
    assert json_form(so.evaluate_case(load_json(path)).to_answer()) == want


def _parts(case):
    return case["config"], case["inputs"]["targets"], case["inputs"]["predictions"]


@pytest.mark.parametrize("path", PATHS[:: max(1, len(PATHS) // 8)], ids=lambda p: p.stem)
def test_loop_builder_and_cli(path, softobj):
    want = json.loads(run(softobj, "eval", "--compact", "--builder", "loop", path).stdout)
    assert json_form(so.evaluate_case(path, builder="loop").to_answer()) == want


def test_expected_of_fixtures_conform():
    """Each fixture's stored answer conforms under the f64 preset (as `softobj check` says of
    them in the Rust test suite)."""
    for path in PATHS[:: max(1, len(PATHS) // 10)]:
        case = so.load_case(path)
        if "expected" in case:
            assert so.check(path, case["expected"]).ok, path
