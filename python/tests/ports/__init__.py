"""A reference port with planted bugs: the test asset of issue 22's conformance harness.

* :func:`reference_port` -- ``port(config, targets, predictions) -> answer`` built on the
  repository's independent torch reference (``fixtures/export/soft_objectness_torch.py``);
  without a bug it conforms to the oracle under the ``f64`` preset.
* :data:`BUGS` -- the planted bugs by name (:class:`Bug`: the spec rule broken, the config keys
  to blame, when it shows, the smallest case that shows it).
* :func:`sub_case` -- a smaller case cut out of a generated one (layers, anchors, images);
  :func:`tiny_case` -- a case of one image with given boxes, grids and anchors.

``python -m ports.survey`` (from ``python/tests``) prints the table of ``README.md``: on how
many cases each bugged port fails ``so.check(..., "f64")``, and with which fields.
"""

from .bugs import BUGS, Bug, example_case, planted, reference_port
from .cases import sub_case, tiny_case

__all__ = [
    "BUGS", "Bug", "example_case", "planted", "reference_port", "sub_case", "tiny_case",
]
