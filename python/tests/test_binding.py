"""The binding's shape: one reader of `.npy` references for the command line and Python, the
package's module graph, the core's vocabulary and options across the boundary."""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import soft_objectness as so
from conftest import parts, run

PACKAGE = Path(so.__file__).parent


# --- `.npy` references: the core's path rule, through Python as through the command line -----

OUTSIDE = ("absolute", "dotdot")


@pytest.fixture(scope="module")
def npy_files(tmp_path_factory):
    """`sub/case.json` with its answer, and for each way out of `sub/` a case and an answer
    whose first layer names a file outside it (which exists: only the rule refuses it)."""
    root = tmp_path_factory.mktemp("npy")
    sub = root / "sub"
    case = so.gen_cases(1, seed=1, with_expected=True)[0]
    so.write_case(sub / "case.json", case, npy=True)
    shutil.copy(sub / "case.p0.npy", root / "outside.npy")
    for folder in (root, sub):
        np.save(folder / "tobj0.npy", case["expected"]["tobj"][0])
    refs = {"absolute": str(root / "outside.npy"), "dotdot": "../outside.npy"}
    tobj_refs = {"absolute": str(root / "tobj0.npy"), "dotdot": "../tobj0.npy"}
    plain = json.loads((sub / "case.json").read_text())
    answer = json.loads(json.dumps(plain["expected"]))
    for way in OUTSIDE:
        c = json.loads(json.dumps(plain))
        c["inputs"]["predictions"][0] = {"npy": refs[way]}
        (sub / f"case-{way}.json").write_text(json.dumps(c))
        a = json.loads(json.dumps(answer))
        a["tobj"][0] = {"npy": tobj_refs[way]}
        (sub / f"answer-{way}.json").write_text(json.dumps(a))
    return sub


def _cli_error(softobj, *args):
    p = run(softobj, *args, check=False)
    assert p.returncode == 2, p.stdout
    assert p.stderr.startswith("softobj: error: "), p.stderr
    return p.stderr[len("softobj: error: "):].strip()


@pytest.mark.parametrize("way", OUTSIDE)
def test_a_case_naming_a_file_outside_its_folder_is_refused_as_by_the_cli(
    way, npy_files, softobj, monkeypatch
):
    path = npy_files / f"case-{way}.json"
    want = _cli_error(softobj, "eval", path)
    assert "must be a relative path inside the case's directory" in want
    for read in (so.load_case, so.evaluate_case):
        with pytest.raises(so.CaseError) as e:
            read(path)
        assert str(e.value) == want and e.value.field == "inputs.predictions[0].npy"
    # As a dict in the JSON form: references resolve in the current directory, same rule.
    monkeypatch.chdir(npy_files)
    for call in (so.evaluate_case, lambda c: so.check(c, npy_files / "case.json")):
        with pytest.raises(so.CaseError) as e:
            call(json.loads(path.read_text()))
        assert str(e.value) == want


@pytest.mark.parametrize("way", OUTSIDE)
def test_an_answer_naming_a_file_outside_its_folder_is_refused_as_by_the_cli(
    way, npy_files, softobj, monkeypatch
):
    case, path = npy_files / "case.json", npy_files / f"answer-{way}.json"
    want = _cli_error(softobj, "check", case, path)
    assert "must be a relative path inside the case's directory" in want
    for call in (so.load_answer, lambda a: so.check(case, a)):
        with pytest.raises(so.CaseError) as e:
            call(path)
        assert str(e.value) == want and e.value.field == "answer.tobj[0].npy"
    # As a dict (references beside the case file given by path), in the JSON form or with
    # the other layers as numpy arrays: the same reader.
    monkeypatch.chdir(npy_files.parent)
    plain = json.loads(path.read_text())
    mixed = dict(plain, tobj=[plain["tobj"][0], *so.load_answer(case)["tobj"][1:]])
    for answer in (plain, mixed):
        with pytest.raises(so.CaseError) as e:
            so.check(case, answer)
        assert str(e.value) == want
    # A reference inside the folder reads.
    inside = dict(plain, tobj=[{"npy": "tobj0.npy"}] + plain["tobj"][1:])
    assert so.check(case, inside).ok


# --- the package's modules ----------------------------------------------------------------------


def _package_modules():
    names = ["soft_objectness"]
    for m in pkgutil.walk_packages([str(PACKAGE)], "soft_objectness."):
        names.append(m.name)
    return sorted(n for n in names if not n.endswith("__main__"))


def _imports_of(path: Path, module: str, is_package: bool, modules) -> set:
    """The package's modules that `path` imports (at the top or inside functions): for
    `from P import N`, the module `P.N` when there is one, else `P` (`N` is an attribute)."""
    package = module if is_package else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = node.module or ""
            if node.level:
                target = f"{base}.{target}" if target else base
            for a in node.names:
                out.add(f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target)
    return out


def test_the_package_imports_form_no_circle():
    """Every `import` between the package's Python modules (also those inside functions, and
    the packages an import runs first) points one way: the graph has no circle."""
    modules = {}
    for name in _package_modules():
        rel = Path(*name.split(".")[1:])
        for path, is_pkg in ((PACKAGE / rel / "__init__.py", True), (PACKAGE / f"{rel}.py", False)):
            if path.is_file():
                modules[name] = (path, is_pkg)
    def ancestors(m):
        parts = m.split(".")
        return {".".join(parts[:i]) for i in range(1, len(parts))}

    # Importing a module first runs its packages' `__init__`, but for those the importer is
    # inside of (they are running already): count those edges too.
    graph = {}
    for name, (path, is_pkg) in modules.items():
        targets = {m for m in _imports_of(path, name, is_pkg, modules) if m in modules}
        for m in list(targets):
            targets |= {p for p in ancestors(m) - ancestors(name) if p in modules}
        graph[name] = targets - {name}
    assert {"soft_objectness", "soft_objectness._assert", "soft_objectness.torch"} <= set(graph)
    order, state = [], {}

    def visit(m, path):
        if state.get(m) == "done":
            return
        assert state.get(m) != "open", f"import circle: {' -> '.join(path + [m])}"
        state[m] = "open"
        for n in sorted(graph[m]):
            visit(n, path + [m])
        state[m] = "done"
        order.append(m)

    for m in sorted(graph):
        visit(m, [])
    assert len(order) == len(graph)


def test_every_module_imports_first_in_a_fresh_interpreter():
    """Each module imported alone, first, in a new interpreter (a circle would fail there);
    the modules that need torch or yolov5 are left out where those are not installed."""
    code = (
        "import importlib, importlib.util, sys\n"
        "name = sys.argv[1]\n"
        "needs = [m for m in ('torch', 'yolov5') if ('.' + m) in name + '.' and "
        "importlib.util.find_spec(m) is None]\n"
        "if needs: print('skip'); raise SystemExit\n"
        "importlib.import_module(name)\n"
        "print('ok')\n"
    )
    results = {}
    for name in _package_modules():
        p = subprocess.run([sys.executable, "-c", code, name], capture_output=True, text=True)
        assert p.returncode == 0, f"import {name}:\n{p.stderr}"
        results[name] = p.stdout.strip()
    assert results["soft_objectness"] == "ok" and results["soft_objectness._assert"] == "ok"


# --- the core's vocabulary, options and rules, across the boundary ---------------------------


def test_builder_and_backend_names_come_from_the_core_tables(small):
    config, t, p = parts(small)
    with pytest.raises(so.CaseError, match=r"^builder: unknown value `fast` \(accepted: vectorised, loop\)$"):
        so.evaluate(config, t, p, builder="fast")
    with pytest.raises(so.CaseError, match=r"^backend: unknown value `tpu` \(accepted: cpu, gpu\)$"):
        so.evaluate(config, t, p, backend="tpu")
    with pytest.raises(so.CaseError, match=r"^builder: unknown value"):
        so.build_targets(config, t, [a.shape for a in p], builder="fast")


@pytest.fixture(scope="module")
def small():
    return so.gen_cases(1, seed=8)[0]


def test_shapes_are_checked_integers_named_by_entry(small):
    config, t, p = parts(small)
    with pytest.raises(so.CaseError, match=r"^shapes\[0\]\[0\]: must be a non-negative integer \(got -1\)") as e:
        so.build_targets(config, t, [(-1, 3, 8, 8)])
    assert e.value.field == "shapes[0][0]"
    with pytest.raises(so.CaseError, match=r"^shapes\[1\]\[3\]: .*2\*\*70|^shapes\[1\]\[3\]"):
        so.build_targets(config, t, [p[0].shape, (2, 3, 4, 2**70)])
    with pytest.raises(so.CaseError, match=r"^shapes\[0\]\[2\]: expected a non-negative integer, got"):
        so.build_targets(config, t, [(2, 3, 4.5, 8)])
    # numpy integers and torch-like shapes are integers too.
    shapes = [tuple(np.int64(d) for d in a.shape) for a in p]
    got = so.build_targets(config, t, shapes)
    assert [g["tobj"].shape for g in got] == [a.shape[:4] for a in p]


def test_check_only_some_fields(small):
    answer = so.evaluate_case(small).to_answer()
    answer["loss"] *= 1.5
    del answer["grad"]
    full = so.check(small, answer)
    assert not full.ok and full.missing == ["grad"] and full.only is None
    r = so.check(small, answer, only=["tobj", "counts"])
    assert r.ok and r.only == ["tobj", "counts"] and r.missing == []
    assert [f["field"] for f in r.fields] == ["tobj", "counts"]
    assert so.check(small, answer, only="tobj").only == ["tobj"]
    so.assert_conforms(small, answer, only=["tobj"])
    with pytest.raises(AssertionError, match="loss"):
        so.assert_conforms(small, answer, only=["loss", "tobj"])
    with pytest.raises(so.CaseError, match=r"^only: unknown value `gradient` \(accepted: loss, "):
        so.check(small, answer, only=["gradient"])


def test_check_only_agrees_with_the_cli(small, softobj, tmp_path):
    answer = so.evaluate_case(small).to_answer()
    answer["lbox"] *= 1.5
    case = tmp_path / "case.json"
    so.write_case(case, small)
    out = so.write_answer(tmp_path / "a.json", answer)
    for only in (["tobj", "grad"], ["lbox"]):
        p = run(softobj, "check", case, out, "--only", ",".join(only), check=False)
        r = so.check(case, answer, only=only)
        assert p.returncode == (0 if r.ok else 1) and p.stdout.rstrip().endswith(r.text.rstrip())


def test_tolerances_by_name(small):
    assert so.PRESETS["f32"] == {"rtol": 2e-5, "atol": 0.0, "tobj_atol": 2e-5, "grad_rtol": 1e-4}
    assert list(so.PRESETS) == ["f64", "f32"]
    answer = so.evaluate_case(small).to_answer()
    r = so.check(small, answer, "f32", grad_rtol=1e-3)
    assert r.preset == "custom" and r.tolerances == dict(so.PRESETS["f32"], grad_rtol=1e-3)
    assert so.check(small, answer, "f32").preset == "f32"
    with pytest.raises(TypeError, match=r"unknown tolerance 'rtl' \(accepted: rtol, atol, tobj_atol, grad_rtol"):
        so.check(small, answer, rtl=1.0)
    with pytest.raises(so.CaseError, match=r"^preset: unknown value `f16` \(accepted: f64, f32\)$"):
        so.check(small, answer, "f16")


def test_report_is_the_compiled_class_with_getters(small):
    answer = so.evaluate_case(small).to_answer()
    answer["tobj"][0] = answer["tobj"][0] * 0.5
    r = so.check(small, answer, listed=2)
    assert type(r) is so.Report and not r.ok and str(r) == r.text and repr(r).startswith("<Report does not")
    assert r.verdict.startswith("does not conform") and r.class_changes != "none"
    f = r.field("tobj")
    assert f is not None and not f["passed"] and len(f["first_failures"]) == 2
    assert r.field("nothing") is None
    assert set(r.worst) == {x["field"] for x in r.fields}
    assert [m["field"] for m in r.failures] == ["tobj", "tobj"]
    assert r.failures[0]["kind"] == "cell" and r.failures[0]["channel"] == 4
    with pytest.raises(TypeError):
        so.Report()  # built by check alone
    with pytest.raises(AttributeError):
        r.ok = True  # type: ignore[misc]


def test_evaluation_getters_are_cached_in_the_object(small):
    e = so.evaluate(*parts(small))
    for name in ("counts", "tobj", "rows", "grad"):
        assert getattr(e, name) is getattr(e, name), name
    assert e.balance == e.balance and e.balance is not e.balance  # plain values: fresh lists
    with pytest.raises(TypeError):
        so.Evaluation()  # built by evaluate alone


def test_write_case_and_gen_cases_refuse_to_overwrite(small, tmp_path, softobj):
    path = tmp_path / "c.json"
    so.write_case(path, small, npy=True)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match=r"c.json: already exists; overwrite with `force`"):
        so.write_case(path, so.gen_cases(1, seed=99)[0])
    assert path.read_bytes() == before
    path.unlink()  # a layer's file alone is refused too
    with pytest.raises(FileExistsError, match=r"c.p0.npy: already exists"):
        so.write_case(path, small, npy=True)
    assert not path.exists()
    so.write_case(path, so.gen_cases(1, seed=99)[0], force=True)
    assert path.read_bytes() != before
    out = tmp_path / "gen"
    so.gen_cases(2, out=out)
    with pytest.raises(FileExistsError, match=r"case-000.json: already exists"):
        so.gen_cases(2, seed=1, out=out)
    so.gen_cases(2, seed=1, out=out, force=True)
    # The command line's rule, the same words.
    p = run(softobj, "gen", "--count", "1", "--out", out, check=False)
    assert p.returncode != 0 and "case-000.json: already exists" in p.stderr


def test_default_batch_is_validated_by_the_core():
    with pytest.raises(so.CaseError, match=r"^default_batch.width: must be a positive multiple of 32") as e:
        so.default_batch(1, size=100, batch=1)
    assert e.value.field == "default_batch.width"
    with pytest.raises(so.CaseError, match=r"^default_batch.batch"):
        so.default_batch(1, size=64, batch=0)
    small = so.default_batch(2, size=64, batch=1, nc=3, seed=5)
    assert small["inputs"]["predictions"][0].shape == (1, 3, 8, 8, 8)
    assert small["name"] == "default batch (2 boxes per image)"
    assert not np.array_equal(small["inputs"]["targets"], so.default_batch(2, size=64, batch=1, nc=3)["inputs"]["targets"])


def test_gpu_backend_reads_the_borrowed_arrays(small):
    """The GPU path takes the same borrowed inputs (any strides) and gives the same answer as
    from a contiguous copy."""
    config, t, p = parts(small)
    try:
        e = so.evaluate(config, t, p, backend="gpu")
    except so.GpuError as err:
        pytest.skip(f"no GPU adapter: {err}")
    strided = [np.repeat(a, 2, axis=-1)[..., ::2] for a in p]
    assert not strided[0].flags.c_contiguous
    f = so.evaluate(config, t, strided, backend="gpu")
    assert f.loss == e.loss and all(x.tobytes() == y.tobytes() for x, y in zip(f.grad, e.grad))
