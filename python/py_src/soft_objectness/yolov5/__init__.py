"""The method's experiments with YOLOv5's own training: ``python -m soft_objectness.yolov5``.

* ``train [YOLOv5 train options] [the method's options]``: the ``yolov5`` package's training
  (7.0) with :class:`soft_objectness.torch.ComputeLoss` in place of its loss, configured by
  options named like the case format's config keys (``--assigner``, ``--score``, ``--sigma``,
  ``--n``, ``--distance``, ``--soft-loss``, ``--gamma``, ``--overlap``, ``--ciou``,
  ``--autobalance``) and ``--backend``; ``--baseline`` keeps YOLOv5's own loss.
* ``compare --data DATA.yaml --run "NAME: OPTIONS" ...``: one training per configuration,
  each in its own process, then a figure and a Markdown table of YOLOv5's ``results.csv``.
* ``synth DIR``: a small generated data set in YOLO format.

The runner downloads nothing, leaves YOLOv5's installed files as they are, and makes YOLOv5 7.0
run on current numpy, torch, setuptools and Pillow (:mod:`soft_objectness.yolov5._compat`).
Importing this package imports neither torch nor YOLOv5. ``docs/torch.md`` has the details.
"""

from ._cli import main

__all__ = ["main"]
