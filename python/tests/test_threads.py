"""Many Python threads evaluate at once: the GIL is released and every answer has the bits of
a single-threaded call; the predictions are read where they lie."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import soft_objectness as so
from conftest import parts


def _bits(e):
    return (e.loss, e.lbox, e.lobj, e.lcls, tuple(e.balance),
            tuple(g.tobytes() for g in e.grad), tuple(t.tobytes() for t in e.tobj))


def test_threads_give_the_same_bits():
    cases = so.gen_cases(4, seed=11, space={"image": "128x96", "batch": 3})
    alone = [_bits(so.evaluate(*parts(c))) for c in cases]
    jobs = [i % len(cases) for i in range(32)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda i: _bits(so.evaluate(*parts(cases[i]))), jobs))
    assert got == [alone[i] for i in jobs]


def test_the_gil_is_released_while_the_oracle_runs():
    case = so.default_batch(32, batch=8)
    config, t, p = parts(case)
    so.evaluate(config, t, p)  # warm up
    ticks = []
    done = threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.0005)

    th = threading.Thread(target=tick)
    th.start()
    time.sleep(0.01)
    start = len(ticks)
    t0 = time.perf_counter()
    for _ in range(3):
        so.evaluate(config, t, p)
    elapsed = time.perf_counter() - t0
    during = len(ticks) - start
    done.set()
    th.join()
    # Holding the GIL, the oracle would let the ticker run only at the switch interval's pace
    # between calls; released, it ticks all along.
    assert during >= max(5, elapsed / 0.005 / 4), (during, elapsed)


def test_zero_copy_the_core_reads_the_callers_buffer():
    case = so.gen_cases(1, seed=2)[0]
    config, t, p = parts(case)
    p64 = [a.astype(np.float64) for a in p]
    for layers in (p, p64):
        addresses = so._core._testing.prediction_addresses(t, layers)
        assert addresses == [a.ctypes.data for a in layers]
    # A view into a larger buffer: still the caller's memory, at the view's first element.
    big = np.zeros((2,) + p[0].shape, np.float32)
    big[1] = p[0]
    assert so._core._testing.prediction_addresses(t, [big[1]])[0] == big[1].ctypes.data
