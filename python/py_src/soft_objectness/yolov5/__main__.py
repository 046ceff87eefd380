"""``python -m soft_objectness.yolov5 train|compare|synth ...``."""

import sys

from ._cli import main

sys.exit(main())
