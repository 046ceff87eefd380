"""What YOLOv5 7.0 (the ``yolov5`` package) needs to train offline on current packages.

The runner steps in at run time, in its own process only, and says so on one line each time
(``soft_objectness.yolov5: ...`` on stderr, from rank 0 or a single process). YOLOv5's
installed files are never written: module attributes are replaced after import, and a module
that is missing is stood in for only while it is missing.

Current packages:

* ``pkg_resources`` (gone from setuptools 81): YOLOv5 imports it for ``parse_version``; a
  module with ``packaging.version.parse`` stands in.
* ``np.trapz`` (gone from numpy 2.4): YOLOv5's ``utils/metrics.py`` sees numpy with
  ``trapz = np.trapezoid``.
* ``torch.load`` (weights only by default since torch 2.6): YOLOv5's own checkpoints pickle
  the whole model; its three loading modules (``train``, ``utils/general``,
  ``models/experimental``) see torch with ``load(..., weights_only=False)``, as before 2.6.
* ``FreeTypeFont.getsize`` (gone from Pillow 10): YOLOv5's ``Annotator`` gets its fonts from
  :func:`pil_font`, whose fonts have it again (from ``getbbox``).

Offline (nothing is downloaded, nothing is asked of a server):

* fonts: without ``Arial.ttf`` in YOLOv5's config folder (``check_font`` downloads it), the
  plots use matplotlib's DejaVu Sans;
* ``--weights``: the Hugging Face Hub is not asked, and a missing file is an error instead of a
  download from GitHub;
* ``check_online`` answers False (``check_amp`` on CUDA asks it); Ultralytics' import-time
  probe is off (``YOLO_OFFLINE=1``);
* the W&B, Comet, ClearML and Neptune loggers (which log in over the network) are off when
  installed.

What is left to YOLOv5: a data set that its ``data.yaml`` says to download, and a ``--data``
or ``--cfg`` given as a URL: both are the user's explicit request.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import types
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

PREFIX = "soft_objectness.yolov5: "

#: The loggers YOLOv5 starts when their package is installed, and the service each logs in to.
ONLINE_LOGGERS = {"wandb": "W&B", "comet_ml": "Comet", "clearml": "ClearML", "neptune": "Neptune"}

_said: set = set()


def say(message: str, once: bool = False) -> None:
    """Prints ``soft_objectness.yolov5: MESSAGE`` on stderr (rank 0 or a single process)."""
    if int(os.environ.get("RANK", "-1")) not in (-1, 0):
        return
    if once:
        if message in _said:
            return
        _said.add(message)
    print(PREFIX + message, file=sys.stderr, flush=True)


class Overlay(types.ModuleType):
    """A module as one module sees it: every attribute is ``module``'s except ``overrides``."""

    def __init__(self, module: types.ModuleType, **overrides: Any) -> None:
        super().__init__(module.__name__, module.__doc__)
        self.__dict__.update(overrides)
        self.__dict__["_overlaid"] = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_overlaid"], name)


def import_train() -> types.ModuleType:
    """``yolov5.train``, imported offline and made to run on current packages."""
    if os.environ.get("YOLO_OFFLINE") is None:
        # Ultralytics (which YOLOv5 7.0.14 imports for check_requirements) resolves two DNS
        # names at import time to see whether it is online, unless told it is not.
        os.environ["YOLO_OFFLINE"] = "1"
        say("YOLO_OFFLINE=1: Ultralytics' import does not look up DNS names to see whether it "
            "is online")
    _pkg_resources()
    with _online_loggers_off():
        import yolov5.train as train
    _numpy_trapz()
    _torch_load(train)
    _fonts()
    _no_downloads(train)
    return train


def _pkg_resources() -> None:
    if importlib.util.find_spec("pkg_resources") is not None:
        return
    import packaging.version

    shim = types.ModuleType("pkg_resources")
    shim.__doc__ = "soft_objectness.yolov5's stand-in: parse_version only."
    shim.parse_version = packaging.version.parse  # type: ignore[attr-defined]
    sys.modules["pkg_resources"] = shim
    say("setuptools has no pkg_resources; YOLOv5's version checks get packaging.version.parse")


@contextlib.contextmanager
def _online_loggers_off() -> Iterator[None]:
    installed = [m for m in ONLINE_LOGGERS if importlib.util.find_spec(m) is not None]
    saved = {m: sys.modules.get(m) for m in installed}
    for m in installed:
        sys.modules[m] = None  # type: ignore[assignment]  # `import m` raises ImportError
        say(f"{m} is installed; YOLOv5's {ONLINE_LOGGERS[m]} logger is off (it logs in over "
            f"the network)")
    try:
        yield
    finally:
        for m, module in saved.items():
            if module is None:
                sys.modules.pop(m, None)
            else:
                sys.modules[m] = module


def _numpy_trapz() -> None:
    import numpy as np
    import yolov5.utils.metrics as metrics

    if hasattr(np, "trapz"):
        return
    metrics.np = Overlay(np, trapz=np.trapezoid)
    say(f"numpy {np.__version__} has no np.trapz; YOLOv5's metrics get np.trapezoid")


def _torch_load(train: types.ModuleType) -> None:
    import torch
    from packaging.version import Version

    if Version(torch.__version__.split("+")[0]) < Version("2.6"):
        return

    def load(f: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("weights_only", False)
        return torch.load(f, *args, **kwargs)

    import yolov5.models.experimental as experimental
    import yolov5.utils.general as general

    for module in (train, general, experimental):
        module.torch = Overlay(torch, load=load)
    say(f"torch {torch.__version__} loads weights only by default; YOLOv5's loads of its own "
        f"checkpoints get weights_only=False, as before torch 2.6")


def yolov5_font(name: str) -> Optional[Path]:
    """The font file YOLOv5 would use for ``name`` (``Arial.ttf``), if it has it."""
    from yolov5.utils.general import CONFIG_DIR

    for path in (Path(name), Path(CONFIG_DIR) / Path(name).name):
        if path.is_file():
            return path
    return None


def _fallback_font() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


def check_font(font: Any = "Arial.ttf", progress: bool = False) -> None:
    """YOLOv5's ``check_font`` without the download: says which font the plots use instead."""
    if yolov5_font(str(font)) is None:
        say(f"{Path(str(font)).name} is not in YOLOv5's config folder and the runner downloads "
            f"nothing; YOLOv5's plots use matplotlib's {_fallback_font().name}", once=True)


def pil_font(font: Any = "Arial.ttf", size: int = 10) -> Any:
    """YOLOv5's ``check_pil_font``: its font if present, else DejaVu Sans; never downloads.
    The font has ``getsize`` (YOLOv5's ``Annotator`` calls it; Pillow 10 removed it)."""
    check_font(font)
    path = yolov5_font(str(font)) or _fallback_font()
    return _font_class()(str(path), size)


_FONT_CLASS: Dict[str, Any] = {}


def _font_class() -> Any:
    if "cls" not in _FONT_CLASS:
        from PIL import ImageFont

        cls = ImageFont.FreeTypeFont
        if not hasattr(cls, "getsize"):
            class FontWithGetsize(ImageFont.FreeTypeFont):
                def getsize(self, text: str, *args: Any, **kwargs: Any):  # type: ignore[override]
                    _, _, right, bottom = self.getbbox(text, *args, **kwargs)
                    return right, bottom

            cls = FontWithGetsize
            say("Pillow has no FreeTypeFont.getsize; YOLOv5's plots get fonts that have it "
                "(from getbbox)")
        _FONT_CLASS["cls"] = cls
    return _FONT_CLASS["cls"]


def _fonts() -> None:
    import yolov5.utils.general as general
    import yolov5.utils.plots as plots

    general.check_font = check_font
    plots.check_font = check_font
    plots.check_pil_font = pil_font


def _no_downloads(train: types.ModuleType) -> None:
    import yolov5.models.common as common
    import yolov5.models.experimental as experimental
    import yolov5.utils.general as general

    train.attempt_download_from_hub = no_hub
    common.attempt_download_from_hub = no_hub
    train.attempt_download = local_file
    experimental.attempt_download = local_file
    general.check_online = offline


def no_hub(repo_id: Any, hf_token: Any = None, revision: Any = None) -> None:
    """YOLOv5's ``attempt_download_from_hub`` without the Hub: always None (not a Hub model)."""
    if repo_id:
        say(f"YOLOv5 asks the Hugging Face Hub whether {str(repo_id)!r} is a model there; the "
            f"runner does not ask", once=True)


def local_file(file: Any, *args: Any, **kwargs: Any) -> str:
    """YOLOv5's ``attempt_download`` for files that exist; a missing one is an error."""
    path = Path(str(file).strip().replace("'", ""))
    if path.is_file():
        return str(path)
    raise FileNotFoundError(
        f"{str(file)!r}: no such file, and the runner downloads nothing (YOLOv5 would fetch it "
        f"from GitHub): give a local .pt file, or --weights '' --cfg MODEL.yaml to train from "
        f"scratch"
    )


def offline(*args: Any, **kwargs: Any) -> bool:
    """YOLOv5's ``check_online``, answered without a connection: False."""
    say("YOLOv5 checks whether it is online; the runner answers no without connecting",
        once=True)
    return False

