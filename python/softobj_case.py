#!/usr/bin/env python3
"""Read, write and compare soft-objectness cases and answers, with numpy only.

The case format is spec section 10 (docs/spec.md): one JSON document; arrays are
``{"shape": [...], "data": [...]}`` in C order, or ``{"npy": "FILE.npy"}`` stored beside the
JSON (float32 or float64, C order). An *answer* is shaped like a case's ``expected``:
``loss, lbox, lobj, lcls, tobj, counts, grad`` plus the optional ``hard_loss, soft_loss,
balance, matched``. ``softobj eval CASE`` prints the oracle's answer; ``softobj eval CASE
--out-dir DIR`` writes it as ``DIR/answer.json`` with ``tobj_L.npy`` and ``grad_L.npy``.

Typical use from another implementation (see docs/oracle-guide.md)::

    import softobj_case as sc
    case = sc.load_case("cases/case-000.json")          # numpy arrays, npy references resolved
    answer = my_implementation(case)                     # dict shaped like an answer
    sc.write_answer("answers/case-000.json", answer)     # then: softobj check CASE ANSWER
    # or, without the Rust binary at hand, against a stored oracle answer:
    report = sc.compare(sc.load_answer("oracle/case-000"), answer, sc.F32, case["config"])
    print(sc.format_report(report))

The comparison rules and presets are those of ``softobj check`` (src/conformance.rs):

* scalars: ``|got - want| <= atol + rtol * |want|``
* tobj cells: ``|got - want| <= tobj_atol`` and the same class (positive / negative / soft,
  exact comparisons; for the ``yolov5`` assigner positive means ``t > 0``)
* gradient: ``|got - want| <= grad_rtol * G``, ``G`` the largest ``|want|`` of the oracle
* counts and the integer fields of ``matched`` exactly; ``matched`` tbox and anchor:
  ``|got - want| <= tobj_atol + rtol * |want|``

``python3 softobj_case.py --self-test [--softobj PATH]`` runs the built-in checks (and, when a
``softobj`` binary is given or found in target/release, a round trip through it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

FORMAT = "soft-objectness-case/1"
REQUIRED = ("loss", "lbox", "lobj", "lcls", "tobj", "counts", "grad")
OPTIONAL = ("hard_loss", "soft_loss", "balance", "matched")
SCALARS = ("loss", "lbox", "lobj", "lcls")
PER_LAYER = ("hard_loss", "soft_loss", "balance")


class Tolerances(NamedTuple):
    """How close an answer must be to the oracle's (formulas in the module docstring)."""

    rtol: float
    atol: float
    tobj_atol: float
    grad_rtol: float


#: An implementation in double precision.
F64 = Tolerances(rtol=1e-12, atol=0.0, tobj_atol=0.0, grad_rtol=1e-10)
#: An implementation in single precision (counts and cell classes still exact).
F32 = Tolerances(rtol=2e-5, atol=0.0, tobj_atol=2e-5, grad_rtol=1e-4)


# ----------------------------------------------------------------------------- arrays


def array_from_json(v: Any, base_dir: Path, field: str) -> np.ndarray:
    """A ``{"shape", "data"}`` object or an ``{"npy": FILE}`` reference as a numpy array.

    ``.npy`` arrays keep their dtype (float32 or float64); inline arrays are float64.
    """
    if not isinstance(v, dict):
        raise ValueError(f"{field}: expected an array object, got {type(v).__name__}")
    if "npy" in v:
        a = np.load(base_dir / v["npy"], allow_pickle=False)
        if a.dtype not in (np.float32, np.float64):
            raise ValueError(f"{field}: {v['npy']} has dtype {a.dtype}, expected float32 or float64")
        return np.ascontiguousarray(a)
    if "shape" not in v or "data" not in v:
        raise ValueError(f"{field}: expected keys 'shape' and 'data' (or 'npy')")
    shape = tuple(int(d) for d in v["shape"])
    data = np.asarray(v["data"], dtype=np.float64)
    if data.size != math.prod(shape):
        raise ValueError(f"{field}: {data.size} data elements for shape {list(shape)}")
    return data.reshape(shape)


def array_to_json(a: np.ndarray) -> dict:
    """An array as an inline ``{"shape", "data"}`` object (float64 values)."""
    a = np.asarray(a)
    return {"shape": list(a.shape), "data": [float(x) for x in a.astype(np.float64).ravel(order="C")]}


def _save_npy(path: Path, a: np.ndarray) -> None:
    a = np.ascontiguousarray(a)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    np.save(path, a, allow_pickle=False)


# ----------------------------------------------------------------------------- cases


def load_case(path: str | os.PathLike) -> dict:
    """Reads a case: ``{"name", "config", "targets", "predictions", "expected"}``.

    ``config`` is the JSON object as written (missing keys take the spec's defaults in the
    oracle), ``targets`` an ``[nt, 6]`` array, ``predictions`` a list of
    ``[bs, na, ny, nx, 5 + nc]`` arrays (float32 or float64), ``expected`` an answer dict or
    ``None``.
    """
    path = Path(path)
    doc = json.loads(path.read_text())
    if doc.get("format") != FORMAT:
        raise ValueError(f"{path}: format is {doc.get('format')!r}, expected {FORMAT!r}")
    base = path.parent
    inputs = doc["inputs"]
    targets = array_from_json(inputs["targets"], base, "inputs.targets").astype(np.float64)
    if targets.size == 0:
        targets = targets.reshape(0, 6)
    preds = [array_from_json(p, base, f"inputs.predictions[{i}]") for i, p in enumerate(inputs["predictions"])]
    expected = doc.get("expected")
    return {
        "name": doc.get("name", ""),
        "config": doc.get("config", {}),
        "targets": targets,
        "predictions": preds,
        "expected": None if expected is None else _answer_from_doc(expected, base, "expected"),
    }


def write_case(path: str | os.PathLike, case: dict, npy: bool = False) -> list[Path]:
    """Writes a case as JSON; with ``npy`` each prediction layer goes to ``STEM.p{l}.npy``
    beside it (in its own dtype). ``case["expected"]``, when present, is written inline.
    Returns the files written."""
    path = Path(path)
    files = [path]
    preds = []
    for i, p in enumerate(case["predictions"]):
        if npy:
            name = f"{path.stem}.p{i}.npy"
            _save_npy(path.parent / name, p)
            files.append(path.parent / name)
            preds.append({"npy": name})
        else:
            preds.append(array_to_json(p))
    doc = {
        "format": FORMAT,
        "name": case.get("name", ""),
        "config": case.get("config", {}),
        "inputs": {"targets": array_to_json(np.asarray(case["targets"]).reshape(-1, 6)), "predictions": preds},
    }
    if case.get("expected") is not None:
        doc["expected"] = _answer_to_doc(case["expected"])
    path.write_text(json.dumps(doc) + "\n")
    return files


# ----------------------------------------------------------------------------- answers


def _answer_from_doc(doc: dict, base: Path, prefix: str) -> dict:
    if not isinstance(doc, dict):
        raise ValueError(f"{prefix}: expected an answer object")
    out = dict(doc)
    for key in ("tobj", "grad"):
        if key in doc:
            out[key] = [array_from_json(a, base, f"{prefix}.{key}[{i}]") for i, a in enumerate(doc[key])]
    return out


def _answer_to_doc(answer: dict) -> dict:
    doc = {}
    for k, v in answer.items():
        if k in ("tobj", "grad"):
            doc[k] = [array_to_json(a) for a in v]
        elif isinstance(v, np.ndarray):
            doc[k] = v.tolist()
        elif isinstance(v, (np.floating, np.integer)):
            doc[k] = v.item()
        else:
            doc[k] = v
    return doc


def load_answer(path: str | os.PathLike) -> dict:
    """Reads an answer: a JSON answer, a case file with ``expected``, or a folder holding
    ``answer.json`` (as ``softobj eval --out-dir`` writes). ``tobj`` and ``grad`` become lists
    of numpy arrays."""
    path = Path(path)
    if path.is_dir():
        path = path / "answer.json"
    doc = json.loads(path.read_text())
    if "format" in doc:
        if "expected" not in doc:
            raise ValueError(f"{path}: a case without 'expected' is not an answer")
        return _answer_from_doc(doc["expected"], path.parent, "expected")
    return _answer_from_doc(doc, path.parent, "answer")


def write_answer(path: str | os.PathLike, answer: dict, npy: bool = False) -> list[Path]:
    """Writes an answer. Without ``npy``: one JSON file at ``path``. With ``npy``: ``path`` is a
    folder receiving ``answer.json`` and ``tobj_L.npy`` / ``grad_L.npy`` (the layout of
    ``softobj eval --out-dir``, which ``softobj check`` reads). Returns the files written."""
    path = Path(path)
    if not npy:
        path.write_text(json.dumps(_answer_to_doc(answer)) + "\n")
        return [path]
    path.mkdir(parents=True, exist_ok=True)
    files = [path / "answer.json"]
    doc = _answer_to_doc({k: v for k, v in answer.items() if k not in ("tobj", "grad")})
    for key in ("tobj", "grad"):
        if key in answer:
            refs = []
            for i, a in enumerate(answer[key]):
                name = f"{key}_{i}.npy"
                _save_npy(path / name, np.asarray(a))
                files.append(path / name)
                refs.append({"npy": name})
            doc[key] = refs
    files[0].write_text(json.dumps(doc, indent=1) + "\n")
    return files


# ----------------------------------------------------------------------------- comparison

POSITIVE, NEGATIVE, SOFT = 0, 1, 2
CLASS_NAMES = ("positive", "negative", "soft")


def cell_classes(t: np.ndarray, assigner: str = "soft") -> np.ndarray:
    """Cell classes by exact comparison: 0 positive, 1 negative, 2 soft (spec 4.9; for the
    ``yolov5`` assigner positive means ``t > 0``)."""
    t = np.asarray(t, dtype=np.float64)
    c = np.full(t.shape, SOFT, dtype=np.int8)
    c[t == 0.0] = NEGATIVE
    c[(t == 1.0) if assigner == "soft" else (t > 0.0)] = POSITIVE
    return c


def _field(name: str, rule: str) -> dict:
    return {"field": name, "rule": rule, "compared": 0, "failed": 0, "max_abs_err": 0.0, "max_rel_err": 0.0,
            "worst": None, "first_failures": []}


def _record(r: dict, got, want, allowed, scale, where, listed: int, classes=None) -> None:
    """Vectorised record of many comparisons; ``where(k)`` names element k."""
    want = np.asarray(want, dtype=np.float64)
    got = np.broadcast_to(np.asarray(got, dtype=np.float64), want.shape).ravel()
    allowed = np.broadcast_to(np.asarray(allowed, dtype=np.float64), want.shape).ravel()
    scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), want.shape).ravel()
    want = want.ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.abs(got - want)
        err = np.where(np.isnan(err), np.inf, err)
        rel = np.where(err == 0, 0.0, np.where(scale > 0, err / np.where(scale > 0, scale, 1.0), np.inf))
    fails = ~(err <= allowed)
    if classes is not None:
        fails |= classes[0].ravel() != classes[1].ravel()
    r["compared"] += int(want.size)
    if want.size == 0:
        return
    r["max_rel_err"] = max(r["max_rel_err"], float(rel.max()))
    k = int(np.argmax(err))
    if err[k] > r["max_abs_err"]:
        r["max_abs_err"] = float(err[k])
        r["worst"] = {"at": where(k), "got": float(got[k]), "want": float(want[k]), "allowed": float(allowed[k])}
    idx = np.flatnonzero(fails)
    r["failed"] += int(idx.size)
    for k in idx[: max(0, listed - len(r["first_failures"]))]:
        m = {"at": where(int(k)), "got": float(got[k]), "want": float(want[k]), "allowed": float(allowed[k])}
        if classes is not None:
            m["classes"] = (CLASS_NAMES[classes[0].ravel()[k]], CLASS_NAMES[classes[1].ravel()[k]])
        r["first_failures"].append(m)


def compare(oracle: dict, answer: dict, tol: Tolerances = F64, config: dict | None = None, listed: int = 8) -> dict:
    """Compares ``answer`` with the ``oracle``'s answer under ``tol``; ``config`` (the case's)
    tells the assigner, which decides what a positive cell is. Returns a report dict with
    ``fields``, ``class_changes`` (3x3, oracle class by answer class), ``missing``,
    ``not_given``, ``problems`` and ``conforms``."""
    assigner = (config or {}).get("assigner", "soft")
    rep = {"tolerances": tol._asdict(), "fields": [], "class_changes": np.zeros((3, 3), dtype=np.int64),
           "missing": [], "not_given": [], "problems": []}
    scalar_rule = f"|got - want| <= {tol.atol:g} + {tol.rtol:g} |want|"
    for name in SCALARS:
        if name not in answer or name not in oracle:
            rep["missing"].append(name)
            continue
        r = _field(name, scalar_rule)
        w = float(oracle[name])
        _record(r, answer[name], w, tol.atol + tol.rtol * abs(w), abs(w), lambda k: "", listed)
        rep["fields"].append(r)

    def layers(name):
        got, want = answer[name], oracle[name]
        if len(got) != len(want):
            rep["problems"].append(f"{name}: {len(got)} layers, the oracle has {len(want)}")
        return list(zip(got, want))

    if "tobj" not in answer:
        rep["missing"].append("tobj")
    else:
        r = _field("tobj", f"|got - want| <= {tol.tobj_atol:g}, class exact")
        for l, (g, w) in enumerate(layers("tobj")):
            g, w = np.asarray(g, dtype=np.float64), np.asarray(w, dtype=np.float64)
            if g.shape != w.shape:
                rep["problems"].append(f"tobj[{l}]: shape {list(g.shape)}, the oracle's is {list(w.shape)}")
                continue
            cw, cg = cell_classes(w, assigner), cell_classes(g, assigner)
            np.add.at(rep["class_changes"], (cw.ravel(), cg.ravel()), 1)
            _record(r, g, w, tol.tobj_atol, np.abs(w), lambda k, l=l, s=w.shape: _cell(l, s, k), listed, (cw, cg))
        rep["fields"].append(r)

    if "counts" not in answer:
        rep["missing"].append("counts")
    else:
        r = _field("counts", "exact")
        for l, (g, w) in enumerate(layers("counts")):
            for c in CLASS_NAMES:
                _record(r, g[c], w[c], 0.0, abs(w[c]), lambda k, l=l, c=c: f"layer {l} {c}", listed)
        rep["fields"].append(r)

    if "grad" not in answer:
        rep["missing"].append("grad")
    else:
        g_max = max((float(np.abs(np.asarray(w)).max(initial=0.0)) for w in oracle["grad"]), default=0.0)
        r = _field("grad", f"|got - want| <= {tol.grad_rtol:g} * {g_max:.3e} (largest component)")
        for l, (g, w) in enumerate(layers("grad")):
            g, w = np.asarray(g, dtype=np.float64), np.asarray(w, dtype=np.float64)
            if g.shape != w.shape:
                rep["problems"].append(f"grad[{l}]: shape {list(g.shape)}, the oracle's is {list(w.shape)}")
                continue
            _record(r, g, w, tol.grad_rtol * g_max, g_max, lambda k, l=l, s=w.shape: _channel(l, s, k), listed)
        rep["fields"].append(r)

    for name in PER_LAYER:
        if name not in answer:
            rep["not_given"].append(name)
            continue
        g, w = np.asarray(answer[name], dtype=np.float64), np.asarray(oracle[name], dtype=np.float64)
        if g.shape != w.shape:
            rep["problems"].append(f"{name}: {g.size} entries, the oracle has {w.size}")
            n = min(g.size, w.size)
            g, w = g[:n], w[:n]
        r = _field(name, scalar_rule)
        _record(r, g, w, tol.atol + tol.rtol * np.abs(w), np.abs(w), lambda k: f"layer {k}", listed)
        rep["fields"].append(r)

    if "matched" not in answer:
        rep["not_given"].append("matched")
    else:
        r = _field("matched", f"integers exact; tbox, anchor: |got - want| <= {tol.tobj_atol:g} + {tol.rtol:g} |want|")
        for l, (g_rows, w_rows) in enumerate(layers("matched")):
            if len(g_rows) != len(w_rows):
                rep["problems"].append(f"matched[{l}]: {len(g_rows)} rows, the oracle has {len(w_rows)}")
            for k, (g, w) in enumerate(zip(g_rows, w_rows)):
                for item in ("b", "a", "gj", "gi", "class"):
                    _record(r, g[item], w[item], 0.0, abs(w[item]), lambda _, l=l, k=k, i=item: f"layer {l} row {k} {i}", listed)
                for item in ("tbox", "anchor"):
                    wv = np.asarray(w[item], dtype=np.float64)
                    _record(r, g[item], wv, tol.tobj_atol + tol.rtol * np.abs(wv), np.abs(wv),
                            lambda c, l=l, k=k, i=item: f"layer {l} row {k} {i}[{c}]", listed)
        rep["fields"].append(r)

    changes = int(rep["class_changes"].sum() - np.trace(rep["class_changes"]))
    rep["conforms"] = (not rep["missing"] and not rep["problems"] and changes == 0
                       and all(f["failed"] == 0 for f in rep["fields"]))
    return rep


def _unravel(shape, k):
    return np.unravel_index(k, shape)


def _cell(layer, shape, k):
    b, a, y, x = _unravel(shape, k)
    return f"layer {layer} (image {b}, anchor {a}, y {y}, x {x})"


def _channel(layer, shape, k):
    b, a, y, x, c = _unravel(shape, k)
    name = ["tx", "ty", "tw", "th", "obj"][c] if c < 5 else f"cls {c - 5}"
    return f"layer {layer} (image {b}, anchor {a}, y {y}, x {x}, channel {c} {name})"


def format_report(rep: dict) -> str:
    """The report as text, in the layout of ``softobj check``."""
    def sci(x):
        return "0" if x == 0 else f"{x:.3e}"

    lines = [f"{'field':<10} {'compared':>10} {'failed':>8} {'max |err|':>11} {'max rel':>11}  rule"]
    for r in rep["fields"]:
        lines.append(f"{r['field']:<10} {r['compared']:>10} {r['failed']:>8} {sci(r['max_abs_err']):>11} "
                     f"{sci(r['max_rel_err']):>11}  {r['rule']}")
    cc = rep["class_changes"]
    moves = [f"{CLASS_NAMES[w]} -> {CLASS_NAMES[g]} {cc[w, g]}" for w in range(3) for g in range(3) if w != g and cc[w, g]]
    if any(r["field"] == "tobj" for r in rep["fields"]):
        lines.append("tobj class changes (oracle -> answer): " + (", ".join(moves) or "none"))
    listed = [r for r in rep["fields"] if r["first_failures"]]
    if listed:
        lines.append("first mismatches:")
        for r in listed:
            for m in r["first_failures"]:
                extra = (f" ({m['classes'][0]} -> {m['classes'][1]})" if m.get("classes") and m["classes"][0] != m["classes"][1]
                         else f" (|err| {sci(abs(m['got'] - m['want']))}, allowed {sci(m['allowed'])})")
                lines.append(f"  {r['field']} {m['at']}: got {m['got']!r}, want {m['want']!r}{extra}")
    lines += [f"problem: {p}" for p in rep["problems"]]
    if rep["missing"]:
        lines.append("missing (required): " + ", ".join(rep["missing"]))
    if rep["not_given"]:
        lines.append("not given (optional): " + ", ".join(rep["not_given"]))
    lines.append("result: " + ("conforms" if rep["conforms"] else "does not conform"))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- self-test


def _tiny_case(rng: np.random.Generator, dtype=np.float32) -> dict:
    preds = [rng.standard_normal((2, 3, n, n, 8)).astype(dtype) for n in (8, 4, 2)]
    targets = np.array([[0, 1, 0.40, 0.55, 0.43, 0.30], [1, 2, 0.7, 0.25, 0.25, 0.35]], dtype=np.float64)
    return {"name": "python self-test", "config": {"nc": 3}, "targets": targets, "predictions": preds, "expected": None}


def _fake_answer(case: dict, rng: np.random.Generator) -> dict:
    tobj = [np.where(rng.random(p.shape[:4]) < 0.1, 1.0, rng.random(p.shape[:4]) * (rng.random(p.shape[:4]) < 0.3))
            for p in case["predictions"]]
    counts = []
    for t in tobj:
        c = cell_classes(t)
        counts.append({n: int((c == i).sum()) for i, n in enumerate(CLASS_NAMES)})
    return {"loss": 3.25, "lbox": 0.5, "lobj": 2.0, "lcls": 0.75, "tobj": tobj, "counts": counts,
            "grad": [rng.standard_normal(p.shape) * 1e-3 for p in case["predictions"]],
            "hard_loss": [0.1, 0.2, 0.3], "soft_loss": [0.01, 0.0, 0.02], "balance": [4.0, 1.0, 0.4],
            "matched": [[{"b": 0, "a": 1, "gj": 4, "gi": 3, "tbox": [0.2, 0.4, 3.44, 2.4], "anchor": [2.0, 3.75], "class": 1}], [], []]}


def _find_softobj(explicit: str | None) -> Path | None:
    if explicit:
        return Path(explicit)
    here = Path(__file__).resolve().parent.parent
    for p in (here / "target" / "release" / "softobj", here / "target" / "debug" / "softobj"):
        if p.exists():
            return p
    return None


def self_test(softobj: str | None = None) -> int:
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # Cases round-trip inline and through .npy (float32 and float64 kept bit for bit).
        for dtype in (np.float32, np.float64):
            case = _tiny_case(rng, dtype)
            for npy in (False, True):
                p = tmp / f"case-{np.dtype(dtype).name}-{npy}.json"
                write_case(p, case, npy=npy)
                back = load_case(p)
                assert np.array_equal(back["targets"], case["targets"])
                for a, b in zip(back["predictions"], case["predictions"]):
                    assert np.array_equal(a.astype(np.float64), b.astype(np.float64))
                    if npy:
                        assert a.dtype == np.dtype(dtype), (a.dtype, dtype)
        # Answers round-trip as JSON and as a folder.
        case = _tiny_case(rng)
        ans = _fake_answer(case, rng)
        for npy in (False, True):
            p = tmp / ("ans" if npy else "ans.json")
            write_answer(p, ans, npy=npy)
            back = load_answer(p)
            rep = compare(ans, back, F64)
            assert rep["conforms"], format_report(rep)
            assert all(f["max_abs_err"] == 0 for f in rep["fields"])
        # Gradient off by 1%: fails; a tobj class flip: fails; noise of f32 size: passes --f32 only.
        bad = dict(ans, grad=[g.copy() for g in ans["grad"]])
        k = np.unravel_index(np.argmax(np.abs(bad["grad"][0])), bad["grad"][0].shape)
        bad["grad"][0][k] *= 1.01
        rep = compare(ans, bad, F64)
        assert not rep["conforms"] and [f["field"] for f in rep["fields"] if f["failed"]] == ["grad"]
        flip = dict(ans, tobj=[t.copy() for t in ans["tobj"]])
        pos = np.argwhere(flip["tobj"][1] == 1.0)[0]
        flip["tobj"][1][tuple(pos)] = 0.5
        rep = compare(ans, flip, F32)
        assert not rep["conforms"] and rep["class_changes"][POSITIVE, SOFT] == 1, format_report(rep)
        assert "positive -> soft 1" in format_report(rep)
        noisy = dict(ans, grad=[g * (1 + 1e-6) for g in ans["grad"]], loss=ans["loss"] * (1 + 1e-6))
        assert compare(ans, noisy, F32)["conforms"] and not compare(ans, noisy, F64)["conforms"]
        missing = {k: v for k, v in ans.items() if k != "grad"}
        rep = compare(ans, missing, F64)
        assert rep["missing"] == ["grad"] and not rep["conforms"]
        print("python self-test: case and answer round trips, tolerance presets: ok")

        exe = _find_softobj(softobj)
        if exe is None:
            print("python self-test: no softobj binary found (pass --softobj PATH); skipped the cross-check")
            return 0
        # Cross-check with the oracle: a case written here with float32 .npy predictions is
        # evaluated by softobj, the answer read back here, re-written, and checked by softobj.
        p = tmp / "x.json"
        write_case(p, case, npy=True)
        out = tmp / "x-answer"
        subprocess.run([str(exe), "eval", str(p), "--out-dir", str(out)], check=True, stdout=subprocess.DEVNULL)
        oracle_dir = load_answer(out)
        oracle_json = json.loads(subprocess.run([str(exe), "eval", str(p), "--compact"], check=True,
                                                capture_output=True, text=True).stdout)
        oracle_json = _answer_from_doc(oracle_json, tmp, "answer")
        rep = compare(oracle_json, oracle_dir, F64, case["config"])
        assert rep["conforms"] and all(f["max_abs_err"] == 0 for f in rep["fields"]), format_report(rep)
        write_answer(tmp / "mine.json", oracle_dir)
        write_answer(tmp / "mine-dir", oracle_dir, npy=True)
        for a in ("mine.json", "mine-dir"):
            r = subprocess.run([str(exe), "check", str(p), str(tmp / a)], capture_output=True, text=True)
            assert r.returncode == 0, r.stdout + r.stderr
        flipped = dict(oracle_dir, grad=[g.copy() for g in oracle_dir["grad"]])
        k = np.unravel_index(np.argmax(np.abs(flipped["grad"][2])), flipped["grad"][2].shape)
        flipped["grad"][2][k] *= 1.01
        write_answer(tmp / "bad.json", flipped)
        r = subprocess.run([str(exe), "check", str(p), str(tmp / "bad.json")], capture_output=True, text=True)
        assert r.returncode == 1 and "grad" in r.stdout, r.stdout + r.stderr
        print(f"python self-test: cross-check with {exe}: eval --out-dir, load, write, check: ok")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--self-test", action="store_true", help="run the built-in checks")
    ap.add_argument("--softobj", help="softobj binary for the self-test's cross-check")
    sub = ap.add_subparsers(dest="cmd")
    c = sub.add_parser("compare", help="compare an answer with the oracle's stored answer")
    c.add_argument("oracle", help="the oracle's answer (softobj eval output, a fixture, or an --out-dir folder)")
    c.add_argument("answer", help="the answer to check")
    c.add_argument("--case", help="the case (for its assigner)")
    c.add_argument("--f32", action="store_true", help="float32 tolerances")
    args = ap.parse_args(argv)
    if args.self_test:
        return self_test(args.softobj)
    if args.cmd == "compare":
        config = load_case(args.case)["config"] if args.case else None
        rep = compare(load_answer(args.oracle), load_answer(args.answer), F32 if args.f32 else F64, config)
        print(format_report(rep))
        return 0 if rep["conforms"] else 1
    ap.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
