"""``compare``: one YOLOv5 training per configuration, then a figure and a table.

``--run "NAME: OPTIONS"`` names a configuration and its method options (``train``'s); the name
``baseline`` alone is YOLOv5's own loss (``train --baseline``). Every other argument is a
YOLOv5 train option and applies to every run: the same data, model, epochs and seed. Each run
is ``python -m soft_objectness.yolov5 train ... --project PROJECT --name NAME`` in a process of
its own (a run that fails cannot take the others down), its output in ``PROJECT/NAME.log``.

Then, from YOLOv5's ``results.csv`` of each run, ``PROJECT/comparison.png`` (per epoch:
mAP@0.5:0.95, mAP@0.5, precision, recall, train and val loss; one line per run) and
``PROJECT/comparison.md`` (final and best mAP@0.5:0.95 and mAP@0.5, the epoch of the best,
seconds per epoch; a failed run with its error).
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from ._train import EPOCHS

#: results.csv columns drawn, by panel title.
PANELS = {
    "mAP@0.5:0.95": ("metrics/mAP_0.5:0.95",),
    "mAP@0.5": ("metrics/mAP_0.5",),
    "precision": ("metrics/precision",),
    "recall": ("metrics/recall",),
    "train loss (box + obj + cls)": ("train/box_loss", "train/obj_loss", "train/cls_loss"),
    "val loss (box + obj + cls)": ("val/box_loss", "val/obj_loss", "val/cls_loss"),
}

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Run:
    """One configuration: its name, method options, and what its training left."""

    name: str
    options: List[str]
    seconds: float = 0.0
    error: Optional[str] = None
    rows: List[Dict[str, float]] = field(default_factory=list)
    epoch_seconds: List[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        return "YOLOv5's own loss" if self.options == ["--baseline"] else (
            " ".join(self.options) or "the config's defaults")


def parse_run(text: str) -> Run:
    """``"NAME: OPTIONS"`` (or ``baseline``) as a :class:`Run`; ValueError if malformed."""
    name, colon, options = text.partition(":")
    name = name.strip()
    if not _NAME.match(name):
        raise ValueError(f"--run {text!r}: expected 'NAME: OPTIONS' with NAME of letters, "
                         f"digits, '.', '_' or '-'")
    if name == "baseline":
        if options.strip():
            raise ValueError(f"--run {text!r}: 'baseline' is YOLOv5's own loss and takes no "
                             f"options (name the run otherwise)")
        return Run(name, ["--baseline"])
    if not colon:
        raise ValueError(f"--run {text!r}: expected 'NAME: OPTIONS' (OPTIONS may be empty: "
                         f"'{name}:' is the method at the config's defaults)")
    return Run(name, shlex.split(options))


def last_error(log: Path) -> str:
    """The last meaningful line of a failed run's log (the exception or the runner's message)."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        return f"no log ({e})"
    lines = [_ANSI.sub("", line.split("\r")[-1]).strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    return lines[-1] if lines else "no output"


def read_results(save_dir: Path) -> List[Dict[str, float]]:
    """YOLOv5's ``results.csv`` as one dict per epoch (column names stripped)."""
    with open(save_dir / "results.csv", newline="", encoding="utf-8") as f:
        return [{k.strip(): float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def read_epoch_seconds(save_dir: Path) -> List[float]:
    path = save_dir / EPOCHS
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return [float(row["seconds"]) for row in csv.DictReader(f)]


def train(run: Run, common: List[str], project: Path) -> None:
    """Trains one configuration in its own process; fills ``run`` with what it left."""
    cmd = [sys.executable, "-m", "soft_objectness.yolov5", "train", *common,
           "--project", str(project), "--name", run.name, *run.options]
    log = project / f"{run.name}.log"
    print(f"compare: {run.name}: training ({run.label}), log {log}", flush=True)
    t0 = time.perf_counter()
    with open(log, "w", encoding="utf-8") as f:
        f.write(" ".join(shlex.quote(c) for c in cmd) + "\n")
        f.flush()
        code = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL).returncode
    run.seconds = time.perf_counter() - t0
    save_dir = project / run.name
    if code != 0:
        run.error = f"exit {code}: {last_error(log)}"
    else:
        try:
            run.rows = read_results(save_dir)
            run.epoch_seconds = read_epoch_seconds(save_dir)
        except (OSError, ValueError, KeyError) as e:
            run.error = f"no results.csv in {save_dir} ({e})"
    print(f"compare: {run.name}: " + (f"failed ({run.error})" if run.error else
                                      f"done in {run.seconds:.0f} s"), flush=True)


def _best(rows: List[Dict[str, float]], key: str) -> str:
    values = [r[key] for r in rows]
    i = max(range(len(values)), key=lambda j: values[j])
    return f"{values[i]:.4f} ({int(rows[i]['epoch'])})"


def table(runs: Sequence[Run], common: Sequence[str]) -> str:
    """The Markdown table of the runs."""
    out = [
        "| run | options | mAP@0.5:0.95 final | best (epoch) | mAP@0.5 final | best (epoch) "
        "| s/epoch |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        label = r.label.replace("|", "\\|")
        if r.error or not r.rows:
            error = (r.error or "no epoch in results.csv").replace("|", "\\|")
            out.append(f"| {r.name} | {label} | failed: {error} | | | | |")
            continue
        last = r.rows[-1]
        per_epoch = (sum(r.epoch_seconds) / len(r.epoch_seconds)) if r.epoch_seconds else math.nan
        out.append(
            f"| {r.name} | {label} | {last['metrics/mAP_0.5:0.95']:.4f} | "
            f"{_best(r.rows, 'metrics/mAP_0.5:0.95')} | {last['metrics/mAP_0.5']:.4f} | "
            f"{_best(r.rows, 'metrics/mAP_0.5')} | {per_epoch:.1f} |"
        )
    out += [
        "",
        f"YOLOv5 train options of every run: `{' '.join(shlex.quote(c) for c in common)}`. "
        "Epochs count from 0; metrics are YOLOv5's validation of each epoch's EMA weights "
        "(`results.csv`); s/epoch is training plus validation. Each run's loss is its own: "
        "the soft runs' losses include the soft cells' terms, so loss values compare within "
        "a run, not across runs.",
    ]
    return "\n".join(out) + "\n"


def figure(runs: Sequence[Run], path: Path, title: str) -> None:
    """The per-epoch curves of the runs that have results (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    for ax, (panel, keys) in zip(axes.ravel(), PANELS.items()):
        for r in runs:
            if r.rows:
                epochs = [row["epoch"] for row in r.rows]
                ax.plot(epochs, [sum(row[k] for k in keys) for row in r.rows],
                        marker="." if len(epochs) < 30 else None, label=r.name)
        ax.set_title(panel)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0, 0].legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Sequence[str]) -> int:
    """``python -m soft_objectness.yolov5 compare ARGS``; 0 when every run trained, 1 when
    one failed, 2 for bad options."""
    parser = argparse.ArgumentParser(
        prog="python -m soft_objectness.yolov5 compare",
        usage='%(prog)s --data DATA.yaml --run "NAME: OPTIONS" [--run ...] [YOLOv5 train '
              'options]',
        description="Train each configuration with YOLOv5 (same data, model, epochs, seed), "
                    "then write PROJECT/comparison.png and PROJECT/comparison.md.",
        allow_abbrev=False,
    )
    parser.add_argument("--run", action="append", required=True, metavar='"NAME: OPTIONS"',
                        help="a configuration: NAME and the method's options of train (e.g. "
                             "\"power: --n 10 --ciou v7.0\"); 'baseline' alone is YOLOv5's "
                             "own loss")
    parser.add_argument("--project", default="runs/compare",
                        help="YOLOv5's --project: the runs go in PROJECT/NAME, the figure and "
                             "table in PROJECT (default runs/compare)")
    ns, common = parser.parse_known_args(list(argv))
    try:
        runs = [parse_run(text) for text in ns.run]
    except ValueError as e:
        parser.error(str(e))
    names = [r.name for r in runs]
    if len(set(names)) != len(names):
        parser.error(f"--run: each name once (given: {', '.join(names)})")
    if not any(a == "--data" or a.startswith("--data=") for a in common):
        parser.error("--data: required (every run trains on it; YOLOv5's default would "
                     "download COCO128)")
    if any(a == "--name" or a.startswith("--name=") for a in common):
        parser.error("--name: compare names each run's folder after the run")
    project = Path(ns.project)
    taken = [str(project / n) for n in names if (project / n).exists()]
    if taken:
        parser.error(f"already there: {', '.join(taken)} (YOLOv5 would append to their "
                     f"results.csv): remove them or give another --project")
    project.mkdir(parents=True, exist_ok=True)
    for run in runs:
        train(run, common, project)
    (project / "comparison.md").write_text(table(runs, common), encoding="utf-8")
    if any(r.rows for r in runs):
        figure(runs, project / "comparison.png", " vs ".join(names))
    print(f"compare: {project / 'comparison.md'}"
          + (f", {project / 'comparison.png'}" if any(r.rows for r in runs) else ""))
    return 1 if any(r.error for r in runs) else 0
