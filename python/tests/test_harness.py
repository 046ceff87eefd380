"""The porter's harness from Python: ``so.conformance``, ``so.assert_port_conforms`` and
``softobj conform`` over a Python port.

Two kinds of ports: ports made of the oracle (``so.evaluate`` with one thing broken on
purpose: numpy only), for what a port can do to the harness (raise, hang, return NaN, wrong
shapes, missing keys, garbage); and the planted-bug ports of ``ports`` (torch), for what the
harness says about real bugs: for each, the responsible config key among the top three
suspects and the smallest case (at most 1 image and 2 boxes where the bug allows), and the
planted-bug table of ``ports/README.md`` as these runs give it. One harness run per bug,
shared by the assertions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import soft_objectness as so
from conftest import run as run_cli

try:
    import ports  # the planted bugs: torch
    import ports.table
except ImportError:
    ports = None

HERE = Path(__file__).resolve().parent
CASES = so.gen_cases(24, seed=5)
# Empty without torch: the planted-bug tests then show as skipped.
BUG_NAMES = list(ports.BUGS) if ports is not None else []


def oracle_port(config, targets, predictions):
    """A port that is the oracle: it conforms on every case."""
    return so.evaluate(config, targets, predictions).to_answer()


def failing_groups(c):
    return [g["how"] for g in c.groups]


# -- ports made of the oracle ------------------------------------------------------------------

def test_a_conforming_port():
    c = so.conformance(oracle_port, count=20)
    edge = len(so.gen_cases(edge=True))
    assert c.ok and len(c.cases) == edge + 20 and c.port_calls == edge + 20
    assert not c.groups and not c.suspects and not c.minimal and c.precision is None
    assert all(k["conforms"] and k["verdict"] == "conforms" and k["report"].ok for k in c.cases)
    assert c.cases[-1]["name"] == "case-019" and c.cases[0]["name"].startswith("edge-00-")
    assert str(c).startswith(f"all {edge + 20} cases conform (f64 preset)")
    assert repr(c) == f"<Conformance: 0 of {edge + 20} cases do not conform>"
    assert c.preset == "f64" and c.tolerances == so.PRESETS["f64"] and c.only is None
    assert 0 < c.port_seconds < c.seconds
    assert so.assert_port_conforms(oracle_port, CASES[:3], shrink=False).ok


def test_given_cases_paths_and_dicts(tmp_path):
    path = tmp_path / "one.json"
    so.write_case(path, CASES[0])
    c = so.conformance(oracle_port, [path, CASES[1], so.load_case(path)], shrink=False)
    assert c.ok and [k["name"] for k in c.cases] == ["random-000", "random-001", "random-000"]
    with pytest.raises(so.CaseError, match="inputs.targets"):
        bad = dict(CASES[0], inputs=dict(CASES[0]["inputs"], targets=np.ones((1, 5))))
        so.conformance(oracle_port, [bad])


def test_a_port_that_raises_on_an_option():
    def port(config, targets, predictions):
        if config["nc"] == 1:
            raise ValueError("one class is not supported")
        return oracle_port(config, targets, predictions)

    c = so.conformance(port, count=40, seed=1)
    failing = [k for k in c.cases if not k["conforms"]]
    assert failing and not c.ok
    for k in failing:
        f = k["failure"]
        assert k["report"] is None and f["failure"] == "raised" and f["kind"] == "ValueError"
        assert f["message"].startswith("one class is not supported (at test_harness.py:")
        assert f["message"].endswith(" in port)")
    assert failing_groups(c) == ["the port raised ValueError"]
    assert c.suspects[0]["keys"] == ["nc"] and c.suspects[0]["feature"] == "nc = 1"
    m = c.minimal[0]
    assert m["case"]["config"]["nc"] == 1 and m["size"].endswith("; the port raised ValueError")
    with pytest.raises(ValueError):
        port(m["case"]["config"], m["case"]["inputs"]["targets"], m["case"]["inputs"]["predictions"])


def test_nan_wrong_shapes_missing_keys_and_garbage_are_failing_cases():
    def nan(config, targets, predictions):
        a = oracle_port(config, targets, predictions)
        a["lobj"] = float("nan")
        return a

    def transposed(config, targets, predictions):
        a = oracle_port(config, targets, predictions)
        a["tobj"] = [t.T for t in a["tobj"]]
        return a

    def layer_short(config, targets, predictions):
        a = oracle_port(config, targets, predictions)
        a["grad"] = a["grad"][:-1]
        return a

    def no_grad(config, targets, predictions):
        a = oracle_port(config, targets, predictions)
        del a["grad"]
        return a

    expected = {
        nan: "non-finite lobj",
        transposed: "wrong layers or shape of tobj",
        layer_short: "wrong layers or shape of grad",
        no_grad: "missing grad",
        (lambda *a: None): "the port's answer is malformed",
        (lambda *a: {"loss": "small"}): "the port's answer is malformed",
        (lambda *a: [1.0, 2.0]): "the port's answer is malformed",
    }
    for port, how in expected.items():
        c = so.conformance(port, CASES, shrink=False)
        assert not c.ok and all(not k["conforms"] for k in c.cases), how
        assert len(c.groups) == 1 and c.groups[0]["how"].startswith(how), (how, failing_groups(c))
        assert how in str(c)
    c = so.conformance(lambda *a: None, CASES[:1], shrink=False)
    assert c.cases[0]["failure"] == {
        "failure": "malformed",
        "what": "TypeError: answer: expected a dict, an Evaluation or a path, got NoneType"}


def test_only_judges_a_partial_port():
    def partial(config, targets, predictions):
        a = oracle_port(config, targets, predictions)
        return {k: a[k] for k in ("loss", "lbox", "lobj", "lcls", "grad")}

    c = so.conformance(partial, CASES, shrink=False)
    assert not c.ok and failing_groups(c) == ["missing tobj, counts"]
    c = so.conformance(partial, CASES, only=["loss", "lbox", "lobj", "lcls", "grad"],
                       shrink=False)
    assert c.ok and c.only == ["loss", "lbox", "lobj", "lcls", "grad"]
    assert c.cases[0]["report"].only == c.only


def test_a_float32_port_is_found_and_judged_again_under_f32():
    def float32(config, targets, predictions):
        e = so.evaluate(config, targets, predictions)
        a = e.to_answer()
        for k in ("loss", "lbox", "lobj", "lcls"):
            a[k] = float(np.float32(a[k]))
        a["grad"] = [g.astype(np.float32) for g in e.grad]
        return a

    c = so.conformance(float32, CASES, shrink=False)
    assert not c.ok and c.precision is not None and c.precision["still_failing"] == 0
    assert not c.groups and not c.suspects
    assert "look computed in float32" in str(c)
    assert so.conformance(float32, CASES, preset="f32", shrink=False).ok
    custom = so.conformance(float32, CASES, rtol=1e-6, grad_rtol=1e-4, shrink=False)
    assert custom.preset == "custom" and custom.tolerances["rtol"] == 1e-6


def test_a_hung_call_is_abandoned_and_the_next_case_goes_on():
    release = threading.Event()
    calls = []

    def port(config, targets, predictions):
        calls.append(threading.current_thread())
        if len(calls) == 1:
            release.wait(60)  # hangs until the test lets it go
        return oracle_port(config, targets, predictions)

    t0 = time.perf_counter()
    try:
        c = so.conformance(port, CASES[:4], timeout=0.5, shrink=False)
        took = time.perf_counter() - t0
        hung = calls[0]
        assert hung.is_alive() and hung.daemon and hung.name == "soft_objectness port"
    finally:
        release.set()
    assert took < 10, took
    assert c.cases[0]["failure"] == {"failure": "timed_out", "seconds": 0.5}
    assert [k["conforms"] for k in c.cases] == [False, True, True, True]
    assert calls[1] is not hung and calls[1] is calls[3]  # a new worker, then kept
    hung.join(10)
    assert not hung.is_alive()  # its late answer went nowhere; it stopped


def python(script, timeout=60, **env):
    """Runs ``script`` in a new interpreter; (returncode, stdout, stderr)."""
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True,
                       text=True, timeout=timeout, env={**os.environ, **env})
    return p.returncode, p.stdout, p.stderr


def test_a_port_that_never_returns_does_not_keep_the_interpreter_alive():
    code, out, err = python("""
        import threading, soft_objectness as so
        case = so.gen_cases(1, seed=2)[0]
        c = so.conformance(lambda *a: threading.Event().wait(), [case], timeout=0.3)
        print(c.cases[0]["failure"]["failure"], len(c.minimal))
    """, timeout=60)
    assert code == 0 and out.split() == ["timed_out", "0"], err


def test_ctrl_c_stops_the_run():
    code, out, err = python("""
        import _thread, threading, time, soft_objectness as so
        calls = []
        def port(config, targets, predictions):
            calls.append(1)
            time.sleep(0.05)
            return so.evaluate(config, targets, predictions).to_answer()
        threading.Timer(1.0, _thread.interrupt_main).start()
        try:
            so.conformance(port, count=400)
        except KeyboardInterrupt:
            n = len(calls)
            time.sleep(0.3)
            print("interrupted", n, len(calls))
        print(so.conformance(port, so.gen_cases(1), shrink=False).ok)
    """)
    assert code == 0, err
    words = out.split()
    assert words[0] == "interrupted" and 0 < int(words[1]) < 100 and words[1] == words[2]
    assert words[3] == "True"


def test_a_port_may_call_the_oracle_with_one_rayon_thread():
    code, out, err = python("""
        import soft_objectness as so
        port = lambda *a: so.evaluate(*a).to_answer()
        print(so.conformance(port, count=4, timeout=None).ok)
    """, RAYON_NUM_THREADS="1")
    assert code == 0 and out.strip() == "True", err


def test_bad_arguments_raise_and_the_port_is_never_called():
    calls = []

    def port(*args):
        calls.append(1)
        return oracle_port(*args)

    for kwargs, error, match in [
        (dict(preset="f16"), so.CaseError, "preset: unknown value `f16`"),
        (dict(space={"nl": 9}), so.CaseError, "space.nl"),
        (dict(space={"colour": "red"}), so.CaseError, "space: unknown key `colour`"),
        (dict(space=["assigner"]), so.CaseError, "space"),
        (dict(timeout=0), so.CaseError, "timeout"),
        (dict(timeout=float("nan")), so.CaseError, "timeout"),
        (dict(only=["lossy"]), so.CaseError, "lossy"),
        (dict(rtol=-1.0), so.CaseError, "rtol"),
        (dict(tolerance=1.0), TypeError, "unknown tolerance 'tolerance'"),
    ]:
        with pytest.raises(error, match=match):
            so.conformance(port, **kwargs)
    with pytest.raises(TypeError, match="port: expected a callable"):
        so.conformance("my_port.py")
    assert not calls


def test_assert_port_conforms_raises_the_diagnosis():
    def port(config, targets, predictions):
        a = oracle_port(config, targets, predictions)
        if config["hyp"]["fl_gamma"] > 0:
            a["lobj"] *= 3.0
        return a

    with pytest.raises(AssertionError) as e:
        so.assert_port_conforms(port, msg="my port", count=30, only=["loss", "lobj"])
    text = str(e.value)
    lines = text.splitlines()
    assert lines[0] == "my port" and "cases do not conform (f64 preset, only loss, lobj)" in lines[1]
    suspect = text.index("suspect: fails on ")
    assert "with hyp.fl_gamma > 0 and on 0/" in text
    assert suspect < text.index("smallest: 1 image") < text.index("so.conformance with the same")


def test_minimal_cases_are_cases_and_to_dict_is_json(tmp_path):
    def port(config, targets, predictions):
        a = oracle_port(config, targets, predictions)
        a["lbox"] *= 1.0 + (config["ciou"] == "v6.0")
        return a

    c = so.conformance(port, count=20, only=["lbox"])
    m = c.minimal[0]
    assert c.suspects[0]["keys"] == ["ciou"] and m["group"] == 0
    path = tmp_path / "minimal.json"
    so.write_case(path, m["case"])
    back = so.load_case(path)
    assert back["name"].startswith("minimal-1: ") and m["size"] in back["name"]
    assert not so.check(back, port(*parts(back)), only="lbox").ok
    assert so.check(back, oracle_port(*parts(back))).ok
    d = json.loads(json.dumps(c.to_dict()))
    assert d["ok"] is False and len(d["cases"]) == len(c.cases)
    assert d["minimal"][0]["case"]["format"] == so.FORMAT
    assert isinstance(c.suspects[0]["with"], tuple)
    plain = json.loads(json.dumps({"suspects": c.suspects, "groups": c.groups}))
    assert d["suspects"] == plain["suspects"] and d["groups"] == plain["groups"]
    assert d["cases"][0]["verdict"] == c.cases[0]["verdict"]
    report = d["cases"][0]["report"]
    assert report["tolerances"] == c.cases[0]["report"].tolerances
    assert [f["field"] for f in report["fields"]] == [f["field"] for f in c.cases[0]["report"].fields]


def parts(case):
    return case["config"], case["inputs"]["targets"], case["inputs"]["predictions"]


def test_gen_cases_within_a_space():
    space = {"assigner": "yolov5", "nc": [1, 2], "nl": 2, "hyp.fl_gamma": 0, "image": "64x32"}
    cases = so.gen_cases(12, seed=4, space=space)
    for case in cases:
        cfg, _, preds = parts(case)
        assert cfg["assigner"] == "yolov5" and cfg["nc"] in (1, 2) and cfg["hyp"]["fl_gamma"] == 0
        assert len(preds) == 2 and preds[0].shape[2:4] == (4, 8)
    assert {case["config"]["nc"] for case in cases} == {1, 2}
    shapes = {(len(p), p[0].shape[0], p[0].shape[1]) for _, _, p in map(parts, so.gen_cases(30))}
    assert len({s[0] for s in shapes}) >= 4 and len({s[1] for s in shapes}) >= 3
    with pytest.raises(so.CaseError, match=r"space.assigner: unknown value `soft2`"):
        so.gen_cases(1, space={"assigner": "soft2"})
    with pytest.raises(so.CaseError, match="space: unknown key `image_size`"):
        so.gen_cases(1, space={"image_size": "64x64"})
    with pytest.raises(so.CaseError, match="space: .*edge mix"):
        so.gen_cases(edge=True, space={"nc": 1})


# -- the planted bugs (torch) --------------------------------------------------------------------

def _ports():
    if ports is None:
        pytest.skip("torch is not installed (pip install -r python/requirements-test.txt)")
    return ports


@pytest.fixture(scope="module")
def runs():
    """The harness's finding per planted bug (and for the correct port, under None), each run
    once, when first asked for."""
    table = _ports().table
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = table.run(name)
        return cache[name]

    return get


def test_the_correct_port_conforms_on_every_case(runs):
    c = runs(None)
    assert c.ok and not c.groups and len(c.cases) > 100, str(c)


@pytest.mark.parametrize("name", BUG_NAMES)
def test_a_planted_bug_is_named_and_shrunk(name, runs):
    bug = ports.BUGS[name]
    c = runs(name)
    assert not c.ok
    top = c.suspects[:3]
    if bug.keys:
        assert any(set(s["keys"]) & set(bug.keys) for s in top), (bug.keys, str(c))
    else:
        # No option is to blame: the float32 finding, and what is left under f32.
        assert c.precision is not None and all(g["f32"] for g in c.groups), str(c)
    if name == "float32_throughout":
        assert "score.sigma" in top[0]["keys"], str(c)
    if bug.minimal_ok:
        for m in c.minimal:
            _, targets, preds = parts(m["case"])
            assert preds[0].shape[0] == 1 and len(targets) <= 2, m["size"]
            assert m["size"].startswith("1 image, ")
    port = _ports().reference_port(name)
    preset = "f32" if c.precision is not None else "f64"
    for m in c.minimal:
        case = m["case"]
        assert so.check(case, oracle_port(*parts(case))).ok
        try:
            assert not so.check(case, port(*parts(case)), preset).ok, m["size"]
        except IndexError:
            assert "raised IndexError" in m["size"]


def test_the_planted_bug_table_is_what_the_harness_says(runs):
    table = _ports().table
    got = table.table({name: runs(name) for name in table.BUGS})
    assert table.in_readme() == got, (
        "python/tests/ports/README.md's planted-bug table is stale: run `python -m ports.table "
        f"--write` from python/tests. The harness says:\n{got}")


def test_softobj_conform_runs_a_python_port(softobj, tmp_path):
    _ports()
    port = f"{sys.executable} {HERE / 'conform_port.py'} {{case}} {{answer}}"
    out = tmp_path / "minimal"
    where = ["--where", "hyp.fl_gamma=1.5,nc=7"]
    p = run_cli(softobj, "conform", "--port", port + " focal_ignored", "--count", "3", *where,
                "--out", out, "--shrink-calls", "3", "--timeout", "60", check=False)
    assert p.returncode == 1, p.stderr
    assert p.stdout.startswith("3 of 3 cases do not conform (f64 preset)\nspace: ")
    assert "fails loss, lobj" in p.stdout and f"wrote {out / 'minimal-1.json'}" in p.stdout
    minimal = so.load_case(out / "minimal-1.json")
    assert minimal["config"]["hyp"]["fl_gamma"] == 1.5
    assert not so.check(minimal, _ports().reference_port("focal_ignored")(*parts(minimal))).ok
    p = run_cli(softobj, "conform", "--port", port, "--count", "1", "--where", "nc=7",
                "--timeout", "60", check=False)
    assert p.returncode == 0 and p.stdout.startswith("all 1 cases conform"), p.stdout + p.stderr
