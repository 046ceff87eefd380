"""The reference port and its planted bugs (``python/tests/ports``), the material of issue 22's
conformance harness.

The correct port must conform to the oracle under the ``f64`` preset; every planted bug must
show (the answer does not conform, or the port raises) on its small example of at most 1 image
and 2 boxes and on the edge-mix cases it names, and must conform again on its control case (the
same case with the responsible option reset), so that the option named in ``Bug.keys`` is the
one that matters. Every verdict is ``so.check``'s (the code of ``softobj check``). The whole
survey (200 random cases, the edge mix, the shape cases, every bug) is ``python -m
ports.survey`` from ``python/tests``; its table is in ``ports/README.md``. Needs torch.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="torch is not installed (pip install -r python/requirements-test.txt)"
)

import soft_objectness as so  # noqa: E402
from soft_objectness.torch import losses  # noqa: E402

from ports import BUGS, example_case, reference_port  # noqa: E402
from ports.reference import sot  # noqa: E402
from ports.survey import edge_key, shape_cases  # noqa: E402

EDGE = {edge_key(c): c for c in so.gen_cases(edge=True)}
RANDOM = so.gen_cases(12, seed=22)
NL_BELOW_NA = so.gen_cases(1, seed=22, space={"nl": 1, "na": 3})[0]
SHAPES = shape_cases()
CORRECT = reference_port()
CONFIG_KEYS = {"nc", "anchors", "hyp", "assigner", "distance", "score", "soft_loss", "overlap",
               "autobalance", "ciou"}


def run(port, case):
    return port(case["config"], case["inputs"]["targets"], case["inputs"]["predictions"])


def shows(port, case, preset="f64"):
    """Whether the port fails the case: it raises, or its answer does not conform."""
    try:
        answer = run(port, case)
    except Exception:
        return True
    return not so.check(case, answer, preset).ok


@pytest.mark.parametrize("case", RANDOM + list(EDGE.values()) + SHAPES,
                         ids=lambda c: c["name"].split(" (")[0][:40])
def test_correct_port_conforms(case):
    so.assert_conforms(case, run(CORRECT, case), "f64")


def test_table_has_twelve_bugs_blaming_config_keys():
    assert len(BUGS) >= 12
    for b in BUGS.values():
        cfg = example_case(b)["config"]
        for key in b.keys:
            head, _, sub = key.partition(".")
            if key in ("nl", "na"):
                continue
            assert head in CONFIG_KEYS, f"{b.name}: {key} is not a config key"
            assert not sub or sub in cfg[head], f"{b.name}: {key} is not a config key"
        assert b.rule.startswith("spec ") and b.edge and b.minimal, b.name


@pytest.mark.parametrize("name", list(BUGS))
def test_bug_shows_on_its_small_example(name):
    b = BUGS[name]
    ex = example_case(b)
    targets = np.asarray(ex["inputs"]["targets"]).reshape(-1, 6)
    if b.minimal_ok:
        assert ex["inputs"]["predictions"][0].shape[0] == 1 and len(targets) <= 2
    so.assert_conforms(ex, run(CORRECT, ex), "f64")
    assert shows(reference_port(b), ex), f"{name} does not show on its example"


@pytest.mark.parametrize("name", [n for n, b in BUGS.items() if b.control is not None])
def test_bug_hides_when_its_option_is_reset(name):
    control = example_case(name, control=True)
    so.assert_conforms(control, run(CORRECT, control), "f64")
    so.assert_conforms(control, run(reference_port(name), control), "f64",
                       msg=f"{name} shows with {', '.join(BUGS[name].keys)} reset")


@pytest.mark.parametrize("name", list(BUGS))
def test_bug_shows_on_the_edge_mix(name):
    port = reference_port(name)
    for key in BUGS[name].edge:
        assert shows(port, EDGE[key]), f"{name} does not show on edge case {key}"


def test_float32_losses_are_exactly_float32_and_conform_under_f32():
    port = reference_port("float32_accumulation")
    for case in [example_case("float32_accumulation"), EDGE["default-3-layers"], *RANDOM[:4]]:
        answer = run(port, case)
        values = [answer[k] for k in ("loss", "lbox", "lobj", "lcls")] + answer["hard_loss"]
        assert all(float(np.float32(v)) == v for v in values)
        assert all(np.array_equal(g.astype(np.float32), g) for g in answer["grad"])
        assert not so.check(case, answer, "f64").ok
        so.assert_conforms(case, answer, "f32")


def test_float32_tobj_fails_f32_where_a_score_underflows():
    case = EDGE["gaussian-tiny-sigma-underflow"]
    report = so.check(case, run(reference_port("float32_throughout"), case), "f32")
    assert not report.ok and report.class_changes


def test_layers_looped_over_na_raises_when_nl_below_na():
    case = NL_BELOW_NA
    so.assert_conforms(case, run(CORRECT, case), "f64")
    with pytest.raises(IndexError):
        run(reference_port("layers_looped_over_na"), case)


def test_plants_are_undone_after_each_call():
    before = (sot.prepare, sot.forward, sot.build_soft_tobj, sot.DISTANCES, losses.focal,
              losses.ciou, losses.mean_or_zero)
    case = NL_BELOW_NA
    for name in BUGS:
        try:
            run(reference_port(name), case)
        except IndexError:
            pass
    after = (sot.prepare, sot.forward, sot.build_soft_tobj, sot.DISTANCES, losses.focal,
             losses.ciou, losses.mean_or_zero)
    assert all(a is b for a, b in zip(before, after))
    so.assert_conforms(case, run(CORRECT, case), "f64")


def test_a_call_in_flight_keeps_its_plant_to_itself():
    # A bugged call held inside its plant (obj_pw ignored) while the correct port is called
    # from another thread: the correct call must wait for the plant to be undone.
    started, release = threading.Event(), threading.Event()
    inner = BUGS["obj_pw_ignored"].patches()[0][2]

    def held_forward(*args, **kwargs):
        started.set()
        release.wait(10)
        return inner(*args, **kwargs)

    held = dataclasses.replace(BUGS["obj_pw_ignored"], name="held",
                               patches=lambda: [(sot, "forward", held_forward)])
    case = EDGE["pos-weights"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        bugged = pool.submit(run, reference_port(held), case)
        assert started.wait(10)
        correct = pool.submit(run, CORRECT, case)
        time.sleep(0.2)
        release.set()
        so.assert_conforms(case, correct.result(), "f64")
        assert not so.check(case, bugged.result(), "f64").ok
