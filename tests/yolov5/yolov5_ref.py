"""YOLOv5's own ``ComputeLoss`` from the ``yolov5`` wheels on PyPI, loaded without the package.

Only ``yolov5/utils/loss.py`` and ``yolov5/utils/metrics.py`` of a wheel are used. They are
extracted from the wheel (a zip file) into a cache folder and imported by file path with
``importlib``; the package's ``__init__`` (which pulls in the whole training stack) is never
imported. The few names the two files import from elsewhere in the package are stubbed for the
duration of the import:

* ``yolov5.utils.torch_utils``: ``is_parallel`` (6.0) and ``de_parallel`` (7.0), as YOLOv5
  defines them;
* ``yolov5.utils``: ``TryExcept`` and ``threaded`` (7.0's metrics.py decorates plotting
  functions with them), as no-op decorators;
* ``matplotlib.pyplot`` when matplotlib is not installed (metrics.py plots; the loss does not).

One change is made to the source of 6.0 and 6.1, in memory, before it is compiled:
``build_targets`` clamps int64 grid indices with 0-dim float tensor bounds
(``gj.clamp_(0, gain[3] - 1)``), which torch 2.x refuses for an in-place clamp of a long tensor
("result type Float can't be cast to the desired output type Long"). The bounds become Python
ints (``int(gain[3]) - 1``), the values they had. 6.2 and 7.0 already write
``.clamp_(0, shape[2] - 1)`` with ints and are loaded unchanged.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import types
import zipfile

import torch.nn as nn

# The YOLOv5 releases loaded, each from the yolov5 wheel on PyPI that carries its loss.py and
# metrics.py: the last 6.0.x and 7.0.x; for 6.1, 6.1.0 (6.1.2 and later are snapshots between
# the releases, with a newer bbox_iou); for 6.2, the last 6.2.x.
VERSIONS = {"v6.0": "6.0.7", "v6.1": "6.1.0", "v6.2": "6.2.3", "v7.0": "7.0.14"}
# The oracle's `ciou` setting each release's CIoU is (docs/torch.md, "In ultralytics/yolov5"):
# 6.1 still adds eps to the heights as 6.0 does; 6.2 takes the sizes as given, as 7.0 does, but
# adds eps to the heights inside atan (7.0 does not), so it matches neither setting exactly and
# is compared with "v7.0" at a looser tolerance (EXACT is False for it).
CIOU = {"v6.0": "v6.0", "v6.1": "v6.0", "v6.2": "v7.0", "v7.0": "v7.0"}
EXACT = {"v6.0": True, "v6.1": True, "v6.2": False, "v7.0": True}
FILES = ("utils/metrics.py", "utils/loss.py")
V6_CLAMP = ("gj.clamp_(0, gain[3] - 1), gi.clamp_(0, gain[2] - 1)",
            "gj.clamp_(0, int(gain[3]) - 1), gi.clamp_(0, int(gain[2]) - 1)")


def default_cache():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "soft-objectness", "yolov5")


def wheel_path(version, cache=None):
    """The wheel ``yolov5-VERSION-*.whl`` in the cache folder, or None."""
    cache = cache or os.environ.get("YOLOV5_WHEELS") or default_cache()
    if not os.path.isdir(cache):
        return None
    for name in sorted(os.listdir(cache)):
        if name.startswith(f"yolov5-{version}-") and name.endswith(".whl"):
            return os.path.join(cache, name)
    return None


def _extract(wheel):
    """Extract the two files next to the wheel (once); returns {relative path: file path}."""
    out_dir = wheel[:-len(".whl")] + ".files"
    paths = {}
    with zipfile.ZipFile(wheel) as z:
        for rel in FILES:
            dst = os.path.join(out_dir, "yolov5", rel)
            if not os.path.exists(dst):
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                with open(dst + ".tmp", "wb") as f:
                    f.write(z.read("yolov5/" + rel))
                os.replace(dst + ".tmp", dst)
            paths[rel] = dst
    return paths


def _is_parallel(model):
    return type(model) in (nn.parallel.DataParallel, nn.parallel.DistributedDataParallel)


def _de_parallel(model):
    return model.module if _is_parallel(model) else model


class _TryExcept:
    def __init__(self, msg=""):
        self.msg = msg

    def __call__(self, f):
        return f


def _stub_modules(loaded_metrics=None):
    mods = {
        "yolov5": types.ModuleType("yolov5"),
        "yolov5.utils": types.ModuleType("yolov5.utils"),
        "yolov5.utils.torch_utils": types.ModuleType("yolov5.utils.torch_utils"),
    }
    mods["yolov5"].__path__ = []
    mods["yolov5.utils"].__path__ = []
    mods["yolov5.utils"].TryExcept = _TryExcept
    mods["yolov5.utils"].threaded = lambda f: f
    mods["yolov5.utils.torch_utils"].is_parallel = _is_parallel
    mods["yolov5.utils.torch_utils"].de_parallel = _de_parallel
    if loaded_metrics is not None:
        mods["yolov5.utils.metrics"] = loaded_metrics
    if importlib.util.find_spec("matplotlib") is None:
        mpl = types.ModuleType("matplotlib")
        plt = types.ModuleType("matplotlib.pyplot")
        mpl.pyplot = plt
        mods["matplotlib"], mods["matplotlib.pyplot"] = mpl, plt
    return mods


@contextlib.contextmanager
def _temporarily(mods):
    saved = {k: sys.modules.get(k) for k in mods}
    sys.modules.update(mods)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def _load(name, path, substitutions=()):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    with open(path, encoding="utf-8") as f:
        src = f.read()
    for old, new in substitutions:
        if src.count(old) != 1:
            raise RuntimeError(f"{path}: expected exactly one {old!r} to patch")
        src = src.replace(old, new)
    exec(compile(src, path, "exec"), module.__dict__)
    return module


def load(release, cache=None):
    """(metrics module, loss module) of the wheel for ``release`` (a key of ``VERSIONS``)."""
    version = VERSIONS[release]
    wheel = wheel_path(version, cache)
    if wheel is None:
        raise FileNotFoundError(f"yolov5-{version}-*.whl not in {cache or default_cache()}")
    paths = _extract(wheel)
    tag = release.replace(".", "_")
    with _temporarily(_stub_modules()):
        metrics = _load(f"yolov5_{tag}_metrics", paths["utils/metrics.py"])
    subs = (V6_CLAMP,) if release in ("v6.0", "v6.1") else ()
    with _temporarily(_stub_modules(metrics)):
        loss = _load(f"yolov5_{tag}_loss", paths["utils/loss.py"], subs)
    return metrics, loss
