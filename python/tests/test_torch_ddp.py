"""Distributed training (DDP, gloo, two processes on this machine) with ``ComputeLoss``.

YOLOv5's ``train.py`` does, per process ``r`` of ``W`` with its shard of ``b = B / W`` images:

    loss_r, loss_items = compute_loss(pred_r, targets_r)   # loss_r = L_r * b  (L_r = lbox + lobj + lcls)
    loss_r *= W                                            # "gradient averaged between devices in DDP mode"
    loss_r.backward()                                      # DDP all-reduces: grad = (1 / W) sum_r grad(W loss_r)

so every process ends with ``grad = sum_r grad(loss_r) = b * sum_r grad(L_r)``. The full batch in
one process gives ``grad(B * L)``. The two agree exactly when ``L = mean_r L_r``, which holds
when every mean in the loss (rows of each layer for lbox and lcls, cells of each class for
lobj) has the same count in every shard; otherwise DDP, like YOLOv5's, optimises the mean of
the shards' losses, not the full batch's. The tests show both relations, float64, both paths:

1. any shards: DDP's gradient equals ``sum_r grad(loss_r)`` computed shard by shard in one
   process, and the all-reduced (summed) ``loss_r`` equals ``sum_r loss_r`` there;
2. shards with equal counts (the second shard is the first one's images and boxes again): DDP's
   gradient equals the full batch's ``grad(loss)`` in one process, and ``sum_r loss_r`` equals
   the full batch's ``loss = B * L``.

Each process has its own oracle thread pool (rayon), made at its first evaluation with
``RAYON_NUM_THREADS`` threads (default: one per logical CPU). With ``N`` processes on ``M``
cores each should have ``M // N`` (docs/torch.md, "In ultralytics/yolov5"): here two processes
on two cores, one thread each, as torch's own threads; the workers set it and check the size of
the pool they got.
"""

from __future__ import annotations

import os
import socket
import tempfile

import pytest

torch = pytest.importorskip(
    "torch", reason="torch is not installed (pip install -r python/requirements-test.txt)"
)
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402

import soft_objectness as so  # noqa: E402
import yolov5_like  # noqa: E402
from soft_objectness.torch import ComputeLoss  # noqa: E402

WORLD = 2
THREADS = 1   # the oracle's pool in each process: M // N for two processes on two cores
REL = 1e-12
GRAD_REL = 1e-10
CONFIGS = {"soft": {}, "yolov5": {"assigner": "yolov5", "ciou": "v7.0"}}


def model():
    torch.manual_seed(0)
    return yolov5_like.Model(3).double()


def batch(kind):
    """(images [4, 3, 64, 64], targets [nt, 6]): four different images, or ("equal") two
    images and their boxes twice, so that both shards of two have the same counts."""
    g = torch.Generator().manual_seed(1)
    imgs = torch.rand(4, 3, 64, 64, generator=g, dtype=torch.float64)
    t = torch.rand(12, 6, generator=g, dtype=torch.float64)
    t[:, 0] = torch.arange(12) % 4
    t[:, 1] = torch.arange(12) % 3
    t[:, 4:] = t[:, 4:] * 0.5 + 0.05
    if kind == "equal":
        imgs[2:] = imgs[:2]
        t = t[t[:, 0] < 2]
        t = torch.cat((t, t + torch.tensor([2.0, 0, 0, 0, 0, 0], dtype=torch.float64)))
    return imgs, t


def shard(imgs, targets, r):
    b = imgs.shape[0] // WORLD
    keep = (targets[:, 0] >= r * b) & (targets[:, 0] < (r + 1) * b)
    t = targets[keep].clone()
    t[:, 0] -= r * b
    return imgs[r * b:(r + 1) * b], t


def process_threads():
    """The threads of this process (Linux), or None where /proc is not there."""
    try:
        with open("/proc/self/status") as f:
            return int(next(line for line in f if line.startswith("Threads:")).split()[1])
    except OSError:
        return None


def oracle_pool_threads():
    """Threads the oracle's pool adds to this process at its first evaluation (None off Linux)."""
    before = process_threads()
    so.evaluate_case(so.gen_cases(1, seed=1)[0])
    after = process_threads()
    return None if before is None else after - before


def worker(rank, port, out_dir):
    torch.set_num_threads(1)
    os.environ["RAYON_NUM_THREADS"] = str(THREADS)   # before the process's first evaluation
    pool = oracle_pool_threads()
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=WORLD)
    try:
        results = {}
        for kind in ("any", "equal"):
            for name, config in CONFIGS.items():
                for backend in ("cpu", "torch"):
                    net = model()
                    ddp = torch.nn.parallel.DistributedDataParallel(net)
                    compute_loss = ComputeLoss(ddp, backend=backend, **config)   # unwraps DDP
                    imgs, t = shard(*batch(kind), rank)
                    loss, items = compute_loss(ddp(imgs), t)
                    (loss * WORLD).backward()            # YOLOv5: loss *= WORLD_SIZE in DDP mode
                    total = loss.detach().clone()
                    dist.all_reduce(total)               # sum over the processes
                    results[(kind, name, backend)] = (
                        float(total), [p.grad.clone() for p in net.parameters()])
        results["pool"] = pool
        torch.save(results, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ddp_results():
    with tempfile.TemporaryDirectory() as d:
        mp.spawn(worker, args=(free_port(), d), nprocs=WORLD, join=True)
        return [torch.load(os.path.join(d, f"rank{r}.pt")) for r in range(WORLD)]


def single_process(kind, config, backend, full):
    """The gradient and loss in one process: per shard summed, or of the full batch."""
    net = model()
    compute_loss = ComputeLoss(net, backend=backend, **config)
    imgs, t = batch(kind)
    if full:
        loss, _ = compute_loss(net(imgs), t)
        loss.backward()
        return float(loss.detach()), [p.grad for p in net.parameters()]
    total = 0.0
    for r in range(WORLD):
        loss, _ = compute_loss(net(shard(imgs, t, r)[0]), shard(imgs, t, r)[1])
        loss.backward()                                   # grads accumulate over the shards
        total += float(loss.detach())
    return total, [p.grad for p in net.parameters()]


def assert_same(got, want):
    (l1, g1), (l2, g2) = got, want
    assert abs(l1 - l2) <= REL * abs(l2), (l1, l2)
    gmax = max(float(g.abs().max()) for g in g2)
    err = max(float((a - b).abs().max()) for a, b in zip(g1, g2))
    assert err <= GRAD_REL * gmax, (err, gmax)


@pytest.mark.parametrize("backend", ["cpu", "torch"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_ddp_equals_the_sum_over_shards(ddp_results, name, backend):
    want = single_process("any", CONFIGS[name], backend, full=False)
    for r in range(WORLD):
        assert_same(ddp_results[r][("any", name, backend)], want)


@pytest.mark.parametrize("backend", ["cpu", "torch"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_ddp_equals_the_full_batch_when_shards_have_equal_counts(ddp_results, name, backend):
    want = single_process("equal", CONFIGS[name], backend, full=True)
    for r in range(WORLD):
        assert_same(ddp_results[r][("equal", name, backend)], want)


def test_unequal_shards_are_not_the_full_batch(ddp_results):
    """The relation of the docstring: with shards of other counts, DDP (as YOLOv5's) does not
    give the full batch's gradient. Shown for the soft assigner on path 1."""
    _, g_full = single_process("any", CONFIGS["soft"], "cpu", full=True)
    _, g_ddp = ddp_results[0][("any", "soft", "cpu")]
    assert max(float((a - b).abs().max()) for a, b in zip(g_ddp, g_full)) > 1e-6


def test_each_process_has_the_pool_it_was_given(ddp_results):
    pools = [r["pool"] for r in ddp_results]
    if pools[0] is None:
        pytest.skip("no /proc/self/status to count threads")
    assert pools == [THREADS] * WORLD


def test_the_shards_have_rows():
    imgs, t = batch("any")
    config = so.Config({"nc": 3})
    for r in range(WORLD):
        _, tr = shard(imgs, t, r)
        assert sum(len(layer["rows"]["b"]) for layer in
                   so.build_targets(config, tr, [(2, 3, 8, 8), (2, 3, 4, 4), (2, 3, 2, 2)])) > 0
