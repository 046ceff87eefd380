"""`check` is `softobj check`: the same verdict, the same report text."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import soft_objectness as so
from conftest import fixture_paths, run

PATHS = fixture_paths()[::11]


def _cli_check(softobj, case, answer, *flags):
    p = run(softobj, "check", case, answer, *flags, check=False)
    assert p.returncode in (0, 1), p.stderr
    return p


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_passing_answer_agrees(path, softobj, tmp_path):
    answer = so.evaluate_case(path).to_answer()
    out = so.write_answer(tmp_path / "answer.json", answer)
    p = _cli_check(softobj, path, out)
    report = so.check(path, answer)
    assert p.returncode == 0 and report.ok
    assert p.stdout.rstrip("\n").endswith(report.text.rstrip("\n"))
    # The answer file read back gives the same report.
    assert so.check(path, out).text == report.text


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_failing_answer_agrees(path, softobj, tmp_path):
    answer = so.evaluate_case(path).to_answer()
    g = answer["grad"][0]
    k = np.unravel_index(np.argmax(np.abs(g)), g.shape)
    g[k] *= 1.01
    answer["loss"] = answer["loss"] * (1 + 1e-9)
    out = so.write_answer(tmp_path / "answer.json", answer)
    p = _cli_check(softobj, path, out)
    report = so.check(path, answer)
    assert p.returncode == 1 and not report.ok
    assert p.stdout.rstrip("\n").endswith(report.text.rstrip("\n"))
    assert set(f["field"] for f in report.fields if not f["passed"]) == {"loss", "grad"}
    failure = report.field("grad")["first_failures"][0]
    assert (failure["layer"], failure["image"], failure["anchor"], failure["y"], failure["x"], failure["channel"]) == (0, *map(int, k))
    logits = so.load_case(path)["inputs"]["predictions"][0]
    assert failure["logit"] == float(logits[k])


def test_f32_preset_and_overrides_agree(softobj, tmp_path):
    path = PATHS[0]
    answer = so.evaluate_case(path).to_answer()
    answer["lbox"] = answer["lbox"] * (1 + 1e-6)
    out = so.write_answer(tmp_path / "a.json", answer)
    assert _cli_check(softobj, path, out).returncode == 1
    assert not so.check(path, answer).ok
    assert _cli_check(softobj, path, out, "--f32").returncode == 0
    assert so.check(path, answer, "f32").ok
    assert _cli_check(softobj, path, out, "--rtol", "1e-5").returncode == 0
    r = so.check(path, answer, rtol=1e-5)
    assert r.ok and r.tolerances["rtol"] == 1e-5 and r.preset == "custom"
    with pytest.raises(so.CaseError, match="tolerances.rtol"):
        so.check(path, answer, rtol=-1.0)
    with pytest.raises(TypeError, match="unknown tolerance"):
        so.check(path, answer, rtool=1.0)


def test_missing_field_and_assert_conforms_message():
    case = next(c for c in so.gen_cases(8, seed=3) if c["config"]["assigner"] == "soft")
    answer = so.evaluate_case(case).to_answer()
    so.assert_conforms(case, answer)
    del answer["grad"]
    r = so.check(case, answer)
    assert not r.ok and r.missing == ["grad"]
    answer = so.evaluate_case(case).to_answer()
    answer["tobj"][1] = answer["tobj"][1] * 0.999
    with pytest.raises(AssertionError) as e:
        so.assert_conforms(case, answer)
    text = str(e.value)
    assert "Mismatched elements:" in text and "Greatest absolute difference:" in text
    assert "Greatest relative difference:" in text and "tobj" in text and "change class" in text
    assert "input logit" in text


def test_torch_like_and_numpy_scalars_in_answers():
    case = so.gen_cases(1, seed=4)[0]
    answer = so.evaluate_case(case).to_answer()
    answer["loss"] = np.float64(answer["loss"])
    answer["balance"] = np.asarray(answer["balance"])
    answer["tobj"] = [t.astype(np.float32) for t in answer["tobj"]]
    assert so.check(case, answer, "f32").ok


def test_answer_in_json_form_and_as_case(tmp_path):
    case = so.gen_cases(1, seed=5, with_expected=True)[0]
    path = tmp_path / "case.json"
    so.write_case(path, case)
    with open(path) as f:
        plain = json.load(f)
    assert so.check(path, plain).ok  # a case with `expected` is an answer
    assert so.check(plain, plain["expected"]).ok
    assert so.check(path, so.evaluate_case(path)).ok  # an Evaluation


def test_non_finite_answer_does_not_conform():
    case = so.gen_cases(1, seed=6)[0]
    answer = so.evaluate_case(case).to_answer()
    answer["loss"] = math.nan
    answer["grad"][0][0, 0, 0, 0, 0] = math.inf
    r = so.check(case, answer)
    assert not r.ok and {"loss", "grad"} <= {f["field"] for f in r.fields if not f["passed"]}


def test_non_finite_answer_file_is_read_and_judged(softobj, tmp_path):
    case = so.gen_cases(1, seed=6)[0]
    cpath = tmp_path / "case.json"
    so.write_case(cpath, case)
    answer = so.evaluate_case(case).to_answer()
    answer["loss"] = math.nan
    apath = so.write_answer(tmp_path / "answer.json", answer)
    assert "NaN" in open(apath).read()
    assert math.isnan(so.load_answer(apath)["loss"])
    p = _cli_check(softobj, cpath, apath)
    assert p.returncode == 1 and "loss" in p.stdout
