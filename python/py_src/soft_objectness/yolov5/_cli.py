"""The command line: ``python -m soft_objectness.yolov5 COMMAND ...``."""

from __future__ import annotations

import sys
from typing import Optional, Sequence

USAGE = """usage: python -m soft_objectness.yolov5 COMMAND [options]

YOLOv5's own training (the yolov5 package, 7.0) with the soft-objectness loss, offline.

commands:
  train    [YOLOv5 train options] [the method's options]   train one model
  compare  --data DATA.yaml --run "NAME: OPTIONS" ... [YOLOv5 train options]
           train each configuration (NAME baseline: YOLOv5's own loss) and draw the comparison
  synth    DIR [--images N] [--size S] [--seed S]         write a generated data set

'COMMAND --help' shows a command's options; docs/torch.md has examples.
"""


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs one command; returns the exit status (2: bad options)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "train":
        from . import _train
        return _train.main(rest)
    if command == "compare":
        from . import _compare
        return _compare.main(rest)
    if command == "synth":
        from . import _synth
        return _synth.main(rest)
    print(USAGE, end="", file=sys.stderr)
    print(f"\nunknown command {command!r} (accepted: train, compare, synth)", file=sys.stderr)
    return 2
