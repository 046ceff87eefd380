"""The rest of the interface: targets, cases and answers on disk, generation."""

from __future__ import annotations

import filecmp
import json
import os
import warnings

import numpy as np
import pytest

import soft_objectness as so
from conftest import fixture_paths, json_form, parts, run


def test_evaluation_fields():
    case = so.gen_cases(1, seed=1)[0]
    config, t, p = parts(case)
    e = so.evaluate(config, t, p)
    nl = config["anchors"]["shape"][0]
    assert len(e.tobj) == len(e.grad) == len(e.counts) == len(e.rows) == len(e.hard_loss) == nl == len(p)
    for tobj, g, c, a in zip(e.tobj, e.grad, e.counts, p):
        assert tobj.shape == a.shape[:4] and tobj.dtype == np.float64
        assert g.shape == a.shape and g.dtype == np.float64
        assert c["positive"] + c["negative"] + c["soft"] == tobj.size
    r = e.rows[0]
    n = len(r["b"])
    assert r["tbox"].shape == (n, 4) and r["anchor"].shape == (n, 2) and r["class"].dtype == np.int64
    assert e.grad is e.grad  # cached
    assert "Evaluation(loss=" in repr(e)
    a = e.to_answer()
    assert list(a) == ["loss", "lbox", "lobj", "lcls", "tobj", "counts", "grad", "hard_loss", "soft_loss", "balance", "matched"]
    # Every column of every layer is the answer's `matched` (the core's writer, not the
    # binding's), key for key and in order.
    for rows, matched in zip(e.rows, a["matched"]):
        assert list(rows) == list(matched[0]) and len(rows["b"]) == len(matched)
        for k, column in rows.items():
            assert column.tolist() == [list(m[k]) if k in ("tbox", "anchor") else m[k] for m in matched], k


def test_grad_into_writes_the_gradient_in_place():
    case = so.gen_cases(1, seed=3)[0]
    config, t, p = parts(case)
    e = so.evaluate(config, t, p)
    out64 = [np.full(a.shape, np.nan) for a in p]
    e.grad_into(out64)
    for got, want in zip(out64, e.grad):
        assert got.tobytes() == want.tobytes()
    out32 = [np.full(a.shape, np.nan, dtype=np.float32) for a in p]
    e.grad_into(out32, scale=-2.5)
    for got, want in zip(out32, e.grad):
        assert got.tobytes() == (want * -2.5).astype(np.float32).tobytes()


def test_grad_into_refuses_what_it_cannot_write():
    case = so.gen_cases(1, seed=3, space={"nl": [2, 3, 4, 5]})[0]
    config, t, p = parts(case)
    e = so.evaluate(config, t, p)
    ok = [np.empty(a.shape, dtype=np.float32) for a in p]
    with pytest.raises(ValueError, match=rf"out: expected {len(p)} arrays"):
        e.grad_into(ok[:-1])
    with pytest.raises(TypeError, match=r"single array"):
        e.grad_into(ok[0])
    bad = list(ok)
    bad[1] = np.empty(p[1].shape[:4] + (p[1].shape[4] + 1,), dtype=np.float32)
    with pytest.raises(ValueError, match=r"out\[1\]: shape mismatch"):
        e.grad_into(bad)
    bad[1] = np.empty(p[1].shape, dtype=np.float16)
    with pytest.raises(TypeError, match=r"out\[1\]: dtype float16"):
        e.grad_into(bad)
    bad[1] = np.empty(p[1].shape[::-1], dtype=np.float32).T
    with pytest.raises(TypeError, match=r"out\[1\]: not C-contiguous"):
        e.grad_into(bad)
    bad[1] = np.empty(p[1].shape, dtype=np.float32)
    bad[1].flags.writeable = False
    with pytest.raises(ValueError, match=r"out\[1\]"):
        e.grad_into(bad)
    bad[1] = [[0.0]]
    with pytest.raises(TypeError, match=r"out\[1\]: expected a writable numpy array"):
        e.grad_into(bad)


def test_build_targets_equals_the_evaluation():
    case = so.gen_cases(1, seed=7, space={"nl": [2, 3, 4, 5]})[0]
    config, t, p = parts(case)
    e = so.evaluate(config, t, p)
    for builder in ("vectorised", "loop"):
        layers = so.build_targets(config, t, [a.shape for a in p], builder=builder)
        for got, tobj, rows in zip(layers, e.tobj, e.rows):
            if config["assigner"] == "soft":
                assert got["tobj"].tobytes() == tobj.tobytes()
            for k in rows:
                assert np.array_equal(got["rows"][k], rows[k]), k
    shapes = [a.shape for a in p]
    shapes[1] = (2, 1, 4, 4)
    with pytest.raises(so.CaseError, match=r"shapes\[1\]: shape mismatch"):
        so.build_targets(config, t, shapes)


def test_the_benchmarks_rust_builder_timer():
    """`_core._testing.time_build_targets` (bench/python_api.py's Rust side) times the same call:
    one time a run, from either thread, and the call's error when the arguments are bad."""
    from soft_objectness import _core

    case = so.gen_cases(1, seed=7, space={"nl": [2, 3, 4, 5]})[0]
    config, t, p = parts(case)
    shapes = [a.shape for a in p]
    bad = shapes[:1] + [(2, 1, 4, 4)] + shapes[2:]
    for in_pool in (False, True):
        times = _core._testing.time_build_targets(so.Config(config), t, shapes, 3, in_pool)
        assert len(times) == 3 and all(s > 0 for s in times)
        with pytest.raises(so.CaseError, match=r"shapes\[1\]: shape mismatch"):
            _core._testing.time_build_targets(config, t, bad, 1, in_pool)


def test_gen_cases_writes_what_softobj_gen_writes(softobj, tmp_path):
    for k, (flags, kwargs) in enumerate((
        (["--count", "6", "--seed", "5"], dict(count=6, seed=5)),
        (["--count", "2", "--seed", "1", "--with-expected", "--npy", "--where",
          "image=64x64,batch=2,nc=4|1,nl=3,hyp.fl_gamma=0,assigner=yolov5"],
         dict(count=2, seed=1, with_expected=True, npy=True,
              space={"image": "64x64", "batch": 2, "nc": [4, 1], "nl": 3, "hyp.fl_gamma": 0,
                     "assigner": "yolov5"})),
        (["--edge", "--seed", "2"], dict(edge=True, seed=2)),
    )):
        a, b = tmp_path / f"cli{k}", tmp_path / f"py{k}"
        run(softobj, "gen", "--out", a, *flags)
        cases = so.gen_cases(out=b, **kwargs)
        names = sorted(os.listdir(a))
        assert names == sorted(os.listdir(b)) and len(cases) == len([n for n in names if n.endswith(".json")])
        match, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
        assert not mismatch and not errors, mismatch


def test_case_round_trip(tmp_path):
    case = so.gen_cases(1, seed=9, with_expected=True)[0]
    for npy in (False, True):
        path = tmp_path / f"c{int(npy)}.json"
        files = so.write_case(path, case, npy=npy)
        assert files[0] == os.fspath(path) and len(files) == (4 if npy else 1)
        back = so.load_case(path)
        assert json_form(back) == json_form(case)
        assert back["inputs"]["predictions"][0].dtype == np.float32 or not npy


def test_load_answer_of_an_out_dir(softobj, tmp_path):
    path = fixture_paths()[0]
    run(softobj, "eval", path, "--out", tmp_path / "out")
    a = so.load_answer(tmp_path / "out")
    assert json_form(a) == json_form(so.evaluate_case(path).to_answer())
    assert so.check(path, tmp_path / "out").ok


def test_write_answer_round_trip(tmp_path):
    case = so.gen_cases(1, seed=10)[0]
    e = so.evaluate_case(case)
    p = so.write_answer(tmp_path / "a.json", e)
    assert json_form(so.load_answer(p)) == json_form(e.to_answer())
    with open(p) as f:
        assert json.load(f)["tobj"][0]["shape"] == list(e.tobj[0].shape)


def test_case_warnings(tmp_path):
    case = so.gen_cases(1, seed=12)[0]
    path = tmp_path / "c.json"
    so.write_case(path, case)
    with open(path) as f:
        plain = json.load(f)
    plain["expectd"] = {}
    with open(path, "w") as f:
        json.dump(plain, f)
    with pytest.warns(so.CaseWarning, match="unknown top-level key `expectd`"):
        so.load_case(path)
    answer = so.evaluate_case(case).to_answer()
    answer["gradient"] = 1
    with pytest.warns(so.CaseWarning, match="`gradient`"):
        so.check(case, answer)


def test_default_batch_is_the_benchmark_workload(softobj, tmp_path):
    run(softobj, "bench", "--boxes", "8", "--size", "64", "--reps", "1", "--dump", tmp_path)
    case = so.load_case(tmp_path / "case.json")
    mine = so.default_batch(8, size=64)
    assert np.array_equal(case["inputs"]["targets"], mine["inputs"]["targets"])
    for a, b in zip(case["inputs"]["predictions"], mine["inputs"]["predictions"]):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_panics_never_reach_python_as_anything_but_an_exception():
    assert issubclass(so.InternalError, RuntimeError)


def test_stubs_describe_the_compiled_module():
    """The stub's `__all__` is the compiled module's and the package re-exports all of it but
    `ANSWER_KEYS` (python/run-tests.sh runs mypy.stubtest on the signatures)."""
    import ast

    from soft_objectness import _core

    stub = os.path.join(os.path.dirname(so.__file__), "_core", "__init__.pyi")
    tree = ast.parse(open(stub).read())
    names = next(
        ast.literal_eval(n.value) for n in tree.body
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "__all__"
    )
    assert sorted(names) == sorted(_core.__all__)
    assert set(_core.__all__) - set(so.__all__) == {"ANSWER_KEYS"}
    assert all(getattr(so, n) is getattr(_core, n) for n in _core.__all__ if n in so.__all__)
    assert type(so.evaluate(*parts(so.gen_cases(1)[0]))) is so.Evaluation is _core.Evaluation


def test_package_docstring_example_runs():
    import doctest

    assert doctest.testmod(so).failed == 0


def test_config_object_is_read_once_and_taken_as_it_is():
    case = so.gen_cases(1, seed=4)[0]
    config, t, p = parts(case)
    cfg = so.Config(config)
    assert (cfg.nc, cfg.nl, cfg.na) == (config["nc"], len(p), p[0].shape[1])
    assert so.Config(cfg.to_dict()).to_dict() == cfg.to_dict() == so.Config(cfg).to_dict()
    assert repr(cfg).startswith("Config({")
    a, b = so.evaluate(config, t, p), so.evaluate(cfg, t, p)
    assert a.to_answer()["loss"] == b.to_answer()["loss"]
    for x, y in zip(a.grad, b.grad):
        assert x.tobytes() == y.tobytes()
    shapes = [x.shape for x in p]
    for x, y in zip(so.build_targets(config, t, shapes), so.build_targets(cfg, t, shapes)):
        assert x["tobj"].tobytes() == y["tobj"].tobytes()
    assert so.check({"config": cfg, "inputs": case["inputs"]}, a.to_answer()).ok
    # nc filled from the argument, and the reader's messages.
    no_nc = {k: v for k, v in config.items() if k != "nc"}
    assert so.Config(no_nc, nc=config["nc"]).nc == config["nc"]
    with pytest.raises(so.CaseError, match=r"config\.nc"):
        so.Config(no_nc)
    with pytest.raises(so.CaseError, match=r"config: unknown key `scroe`"):
        so.Config({**config, "scroe": "power"})
    with pytest.raises(so.CaseError, match=r"shape mismatch"):
        so.evaluate(so.Config({**config, "nc": config["nc"] + 1}), t, p)
