"""``train``: YOLOv5's own training with ``soft_objectness.torch.ComputeLoss`` in place of its
loss.

The method's options are parsed and checked first (nothing is imported from YOLOv5 before);
every other argument goes to YOLOv5's own parser (``yolov5.train.parse_opt``), unchanged. Then
two attributes of the ``yolov5.train`` module are replaced in this process, the ones its
``main`` and ``train`` look up when they run:

* ``yolov5.train.ComputeLoss``: a function of the model that returns our ``ComputeLoss(model,
  **method, backend=...)`` (with ``--baseline``: left as YOLOv5's);
* ``yolov5.train.train``: YOLOv5's ``train`` after one step, which knows the run folder: it
  writes ``soft_objectness.yaml`` there (on ``--resume`` it reads the method from it instead).

Each process of a distributed run (``python -m torch.distributed.run ... -m
soft_objectness.yolov5 train ...``) runs this same entry point, so each makes the same
replacements before YOLOv5's ``main`` runs; YOLOv5 reads ``LOCAL_RANK``, ``RANK`` and
``WORLD_SIZE`` from the environment and ``--local_rank`` with its own parser, as ``python
train.py`` does.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

from . import _compat, _options

#: The model configurations shipped with the runner (``--cfg NAME`` finds them).
MODELS = Path(__file__).resolve().parent / "models"

#: The file the method's settings are saved in, beside YOLOv5's ``opt.yaml``.
SETTINGS = "soft_objectness.yaml"

#: Per epoch, beside ``results.csv``: the seconds of training and validation, and the mean train
#: losses unrounded (``results.csv`` has 5 significant digits).
EPOCHS = "soft_objectness_epochs.csv"
EPOCH_COLUMNS = ("epoch", "seconds", "box_loss", "obj_loss", "cls_loss")


class Runner:
    """The two replacements in ``yolov5.train`` and what they share."""

    def __init__(self, train_module: Any, method: Optional[Dict[str, Any]], backend: str):
        self.module = train_module
        self.yolov5_train = train_module.train
        self.yolov5_loss = train_module.ComputeLoss
        self.method = method
        self.backend = backend
        self.save_dir: Optional[Path] = None

    def install(self) -> None:
        self.module.train = self.train
        self.module.ComputeLoss = self.compute_loss if self.method is not None else self.yolov5_loss

    def train(self, hyp: Any, opt: argparse.Namespace, device: Any, callbacks: Any) -> Any:
        """YOLOv5's ``train`` with the run folder known (and the method read back on resume)."""
        self.save_dir = Path(opt.save_dir)
        if opt.resume:
            self.resume_method(self.save_dir / SETTINGS)
        elif self.method is None:
            self.write({"loss": "yolov5.utils.loss.ComputeLoss"})
        callbacks.register_action("on_train_epoch_start", callback=self.epoch_start)
        callbacks.register_action("on_fit_epoch_end", callback=self.epoch_end)
        return self.yolov5_train(hyp, opt, device, callbacks)

    def compute_loss(self, model: Any) -> Any:
        """``ComputeLoss(model)`` as YOLOv5's ``train`` calls it: ours, with the method."""
        from soft_objectness.torch import ComputeLoss

        loss = ComputeLoss(model, backend=self.backend, **self.method)
        self.write({"loss": "soft_objectness.torch.ComputeLoss", "backend": self.backend,
                    "config": loss.config().to_dict()})
        return loss

    def resume_method(self, path: Path) -> None:
        import yaml

        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing; --resume continues a run of this runner "
                                    f"with the method saved there")
        saved = yaml.safe_load(path.read_text(encoding="utf-8"))
        if saved.get("config") is None:
            self.method = None
            self.module.ComputeLoss = self.yolov5_loss
        else:
            self.method = {k: saved["config"][k] for k in _options.METHOD_KEYS}
            self.backend = saved.get("backend", "auto")
            self.module.ComputeLoss = self.compute_loss
        _compat.say(f"--resume: the loss of {path}")

    def write(self, settings: Dict[str, Any]) -> None:
        import yaml

        if int(os.environ.get("RANK", "-1")) not in (-1, 0) or self.save_dir is None:
            return
        self.save_dir.mkdir(parents=True, exist_ok=True)
        with open(self.save_dir / SETTINGS, "w", encoding="utf-8") as f:
            yaml.safe_dump(settings, f, sort_keys=False)

    def epoch_start(self) -> None:
        self._t0 = time.perf_counter()

    def epoch_end(self, log_vals: Any, epoch: int, best_fitness: Any, fi: Any) -> None:
        if self.save_dir is None:
            return
        path = self.save_dir / EPOCHS
        new = not path.exists()
        losses = [repr(float(x)) for x in log_vals[:3]]    # YOLOv5's mean (box, obj, cls)
        with open(path, "a", encoding="utf-8") as f:
            if new:
                f.write(",".join(EPOCH_COLUMNS) + "\n")
            f.write(",".join([str(epoch), f"{time.perf_counter() - self._t0:.3f}", *losses]) + "\n")


def _shipped_cfg(opt: argparse.Namespace) -> None:
    cfg = str(opt.cfg or "")
    if cfg and not os.path.isfile(cfg) and (MODELS / cfg).is_file():
        opt.cfg = str(MODELS / cfg)
        _compat.say(f"--cfg {cfg}: the runner's model {opt.cfg}")


def _help(train_module: Any) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m soft_objectness.yolov5 train",
        usage="%(prog)s [YOLOv5 train options] [the method's options]",
        description="YOLOv5's own training (the yolov5 package) with the soft-objectness loss "
                    "(soft_objectness.torch.ComputeLoss). YOLOv5's options follow.",
        add_help=False,
    )
    _options.add_options(parser)
    parser.print_help()
    print("\nYOLOv5's train options (yolov5.train.parse_opt):")
    sys.argv = [sys.argv[0], "--help"]
    train_module.parse_opt()


def main(argv: Sequence[str]) -> int:
    """``python -m soft_objectness.yolov5 train ARGS``; returns the exit status."""
    ours, rest = _options.parse(argv)
    try:
        method = _options.method_of(ours)
    except _options.OptionError as e:
        print(f"{_compat.PREFIX}{e}", file=sys.stderr)
        return 2
    try:
        train_module = _compat.import_train()
    except ModuleNotFoundError as e:
        print(f"{_compat.PREFIX}YOLOv5's training needs {e.name!r}, which is not installed: "
              f"pip install 'soft-objectness[yolov5]' (docs/torch.md)", file=sys.stderr)
        return 2
    if "-h" in rest or "--help" in rest:
        _help(train_module)
        return 0
    sys.argv = [sys.argv[0], *rest]
    opt = train_module.parse_opt()
    if opt.resume and _options.given(ours):
        print(f"{_compat.PREFIX}--resume takes the method from the run's {SETTINGS}: give no "
              f"method option (given: {' '.join(_options.given(ours))})", file=sys.stderr)
        return 2
    _shipped_cfg(opt)
    Runner(train_module, method, ours.backend).install()
    train_module.main(opt)
    return 0

