"""What the binding accepts, converts and refuses; nothing crashes the interpreter."""

from __future__ import annotations

import numpy as np
import pytest

import soft_objectness as so
from conftest import parts, small_case


@pytest.fixture(scope="module")
def case():
    return small_case()


@pytest.fixture(scope="module")
def want(case):
    return so.evaluate(*parts(case))


def same(e, w):
    assert e.loss == w.loss and e.lbox == w.lbox and e.lobj == w.lobj and e.lcls == w.lcls
    for a, b in zip(e.grad, w.grad):
        assert a.tobytes() == b.tobytes()


def test_case_error_is_a_value_error_with_a_field():
    assert issubclass(so.CaseError, ValueError)
    assert issubclass(so.TooLargeError, so.CaseError)
    with pytest.raises(so.CaseError) as e:
        so.evaluate({"nc": 1, "hyps": {}}, np.zeros((0, 6)), [np.zeros((1, 3, 2, 2, 6), np.float32)])
    assert str(e.value).startswith("config: unknown key `hyps` (accepted: ")
    assert e.value.field == "config"


def test_wrong_ndim(case):
    config, t, p = parts(case)
    with pytest.raises(so.CaseError, match=r"inputs.predictions\[1\]: shape mismatch: .*five dimensions.*got \[2, 3, 4, 4\]"):
        so.evaluate(config, t, [p[0], p[1][..., 0], p[2]])
    with pytest.raises(so.CaseError, match=r"inputs.targets: shape mismatch: expected \[nt, 6\]"):
        so.evaluate(config, t[None], p)


def test_wrong_dtype(case):
    config, t, p = parts(case)
    for dtype in (np.float16, np.int32):
        with pytest.raises(TypeError, match=r"predictions\[0\]: dtype (float16|int32), C-contiguous: .*astype"):
            so.evaluate(config, t, [p[0].astype(dtype), p[1], p[2]])
    with pytest.raises(TypeError, match=r"predictions\[2\]: dtype >f4"):
        so.evaluate(config, t, [p[0], p[1], p[2].astype(">f4")])
    with pytest.raises(TypeError, match="targets: dtype bool"):
        so.evaluate(config, t.astype(bool), p)


def test_shape_against_nc_na_batch(case):
    config, t, p = parts(case)
    with pytest.raises(so.CaseError, match=r"inputs.predictions\[0\]: shape mismatch: expected \[2, 3, ny >= 1, nx >= 1, 8\]"):
        so.evaluate(config, t, [p[0][..., :7], p[1], p[2]])
    with pytest.raises(so.CaseError, match=r"inputs.predictions\[1\]: shape mismatch: expected \[2, 3,"):
        so.evaluate(config, t, [p[0], p[1][:, :2], p[2]])
    with pytest.raises(so.CaseError, match=r"inputs.predictions\[2\]: shape mismatch: expected \[2, 3,"):
        so.evaluate(config, t, [p[0], p[1], p[2][:1]])
    with pytest.raises(so.CaseError, match=r"inputs.predictions: shape mismatch: expected 3 layers"):
        so.evaluate(config, t, p[:2])
    bad = t.copy()
    bad[0, 0] = 7
    with pytest.raises(so.CaseError, match=r"inputs.targets row 0 \(image\): must be an integer image index in 0..2 \(got 7\)"):
        so.evaluate(config, bad, p)


def test_non_finite_inputs_are_named(case):
    config, t, p = parts(case)
    q = p[1].copy()
    q[1, 2, 3, 0, 4] = np.nan
    with pytest.raises(so.CaseError, match=r"inputs.predictions\[1\] at \[1, 2, 3, 0, 4\]: must be a finite number \(got NaN\)"):
        so.evaluate(config, t, [p[0], q, p[2]])
    bad = t.copy()
    bad[1, 3] = -np.inf
    with pytest.raises(so.CaseError, match=r"inputs.targets row 1 \(y\): must be a finite number \(got -inf\)"):
        so.evaluate(config, bad, p)
    cfg = dict(config, hyp=dict(config["hyp"], box=float("nan")))
    with pytest.raises(so.CaseError, match=r"config.hyp.box: must be a finite number \(got NaN\)"):
        so.evaluate(cfg, t, p)
    # In the JSON form too, as json.load reads a NaN token.
    plain = {"format": so.FORMAT, "config": {"nc": 1, "anchors": {"shape": [1, 1, 2], "data": [1.0, 1.0]}},
             "inputs": {"targets": {"shape": [1, 6], "data": [0, 0, 0.5, float("nan"), 0.5, 0.5]},
                        "predictions": [{"shape": [1, 1, 2, 2, 6], "data": [0.0] * 24}]}}
    with pytest.raises(so.CaseError, match=r"inputs.targets.data\[3\]: must be a finite number"):
        so.evaluate_case(plain)


def test_empty_arrays(case, want):
    config, t, p = parts(case)
    e = so.evaluate(config, np.zeros((0, 6)), p)
    assert e.counts[0]["positive"] == 0
    assert so.evaluate(config, np.array([]), p).loss == e.loss
    assert so.evaluate(config, [], p).loss == e.loss
    with pytest.raises(so.CaseError, match=r"inputs.predictions\[0\]: shape mismatch"):
        so.evaluate(config, t, [p[0][:, :, :0], p[1], p[2]])
    with pytest.raises(so.CaseError, match=r"inputs.predictions: shape mismatch: expected 3 layers"):
        so.evaluate(config, t, [])


def test_huge_declared_shapes_are_refused_before_allocating():
    plain = {"format": so.FORMAT, "config": {"nc": 1, "anchors": {"shape": [1, 1, 2], "data": [1.0, 1.0]}},
             "inputs": {"targets": {"shape": [0, 6], "data": []},
                        "predictions": [{"shape": [100000, 3, 100000, 100000, 6], "data": []}]}}
    with pytest.raises(so.TooLargeError, match=r"inputs.predictions\[0\]: .* elements exceed the limit"):
        so.evaluate_case(plain)
    config = {"nc": 1, "anchors": np.array([[[1.0, 1.0]]])}
    with pytest.raises(so.TooLargeError, match=r"shapes\[0\]"):
        so.build_targets(config, np.zeros((0, 6)), [(100000, 1, 1000000, 1000000)])
    with pytest.raises(so.CaseError, match="grid too large"):
        so.build_targets(config, np.zeros((0, 6)), [(1, 1, (1 << 30) + 1, 1)])


def test_objects_that_are_not_arrays(case):
    config, t, p = parts(case)
    with pytest.raises(TypeError, match=r"predictions\[0\]: expected a numpy array .* got dict"):
        so.evaluate(config, t, [{"a": 1}, p[1], p[2]])
    with pytest.raises(TypeError, match=r"predictions\[1\]: a list that is not a rectangular array"):
        so.evaluate(config, t, [p[0], ["x"], p[2]])
    with pytest.raises(TypeError, match="predictions: expected a list of arrays, one per layer; got a single array"):
        so.evaluate(config, t, p[0])
    with pytest.raises(TypeError, match="predictions: expected a list of arrays"):
        so.evaluate(config, t, 3)
    with pytest.raises(TypeError, match="targets: expected a numpy array"):
        so.evaluate(config, object(), p)
    with pytest.raises(so.CaseError, match="config: expected an object"):
        so.evaluate([1, 2], t, p)
    with pytest.raises(TypeError, match=r"config.hyp: expected JSON-like data"):
        so.evaluate(dict(config, hyp=object()), t, p)
    with pytest.raises(ValueError, match="builder: unknown value"):
        so.evaluate(config, t, p, builder="fast")
    with pytest.raises(ValueError, match="backend: unknown value"):
        so.evaluate(config, t, p, backend="tpu")


def test_read_only_and_other_layouts_are_fine(case, want):
    config, t, p = parts(case)
    ro = [a.copy() for a in p]
    for a in ro:
        a.flags.writeable = False
    t_ro = t.copy()
    t_ro.flags.writeable = False
    same(so.evaluate(config, t_ro, ro), want)
    # Fortran order, a strided view and negative strides: read in place, same bits.
    f = [np.asfortranarray(a) for a in p]
    same(so.evaluate(config, t, f), want)
    big = [np.repeat(a, 2, axis=-1)[..., ::2] for a in p]
    assert not big[0].flags.c_contiguous
    same(so.evaluate(config, t, big), want)
    rev = [a[..., ::-1].copy()[..., ::-1] for a in p]
    assert rev[0].strides[-1] < 0
    same(so.evaluate(config, t, rev), want)
    # float64 and nested lists (converted once to float64): the same values.
    same(so.evaluate(config, t.tolist(), [a.astype(np.float64) for a in p]), want)
    same(so.evaluate(config, t, [a.tolist() for a in p]), want)


def test_balance_and_builders(case, want):
    config, t, p = parts(case)
    assert so.evaluate(config, t, p, builder="loop").loss == want.loss
    e = so.evaluate(config, t, p, balance=[4.0, 1.0, 0.4])
    assert e.loss == want.loss  # the default balance of three layers
    with pytest.raises(so.CaseError, match="balance"):
        so.evaluate(config, t, p, balance=[1.0])


class _FakeDevice:
    type = "cuda"

    def __str__(self):
        return "cuda:0"


class _FakeCudaTensor:
    """Looks like a CUDA torch tensor to the binding (torch itself is not needed)."""

    device = _FakeDevice()
    dtype = "torch.float32"

    def detach(self):
        return self


_FakeCudaTensor.__module__ = "torch"


def test_cuda_tensor_gets_a_clear_error(case):
    config, t, p = parts(case)
    with pytest.raises(TypeError, match=r"predictions\[0\]: a torch tensor on cuda:0; .*\.detach\(\)\.cpu\(\)"):
        so.evaluate(config, t, [_FakeCudaTensor(), p[1], p[2]])


def test_torch_cpu_tensors_without_copy(case, want):
    torch = pytest.importorskip("torch")
    config, t, p = parts(case)
    tp = [torch.from_numpy(a) for a in p]
    same(so.evaluate(config, torch.from_numpy(t), tp), want)
    assert so._core._testing.prediction_addresses(t, [tp[0].detach().numpy()])[0] == tp[0].data_ptr()


def test_gpu_backend_conforms_or_says_why(case, skip_without_gpu):
    config, t, p = parts(case)
    try:
        e = so.evaluate(config, t, p, backend="gpu")
    except so.GpuError as err:
        skip_without_gpu(err)
    assert so.check(case, e, "f32").ok
