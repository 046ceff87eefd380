"""The method's command-line options: parsed, turned into the case format's ``config`` keys
(docs/spec.md section 10) and checked by the oracle (:class:`soft_objectness.Config`) before
YOLOv5 is imported.

Each option is named like the key it sets. ``--score``, ``--soft-loss`` name the kind;
``--n`` (power), ``--sigma`` (gaussian) and ``--gamma`` (loss1) its parameter, and a parameter
given without its kind picks that kind (``--n 10`` is ``--score power --n 10``). Options not
given keep the config's defaults. A refused value exits with the oracle's message, which names
the config field, after the option that set it.
"""

from __future__ import annotations

import argparse
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

import soft_objectness as so

#: The values of ``--backend`` (``soft_objectness.torch.ComputeLoss``'s ``backend``).
BACKENDS = ("auto", "cpu", "gpu", "torch")

#: The config keys the method's options set (the rest, anchors, hyp, nc, come from YOLOv5).
METHOD_KEYS = ("assigner", "score", "distance", "soft_loss", "overlap", "autobalance", "ciou")

#: Config field -> the option that sets it (for messages).
OPTION_OF = {
    "config.score.n": "--n", "config.score.sigma": "--sigma", "config.score": "--score",
    "config.soft_loss.gamma": "--gamma", "config.soft_loss": "--soft-loss",
    "config.assigner": "--assigner", "config.distance": "--distance",
    "config.overlap": "--overlap", "config.ciou": "--ciou", "config.autobalance": "--autobalance",
}


class OptionError(ValueError):
    """A method option the oracle refuses; the message names the option and the field."""


def _number(text: str) -> Any:
    """An int when ``text`` is an integer literal, else a float (the oracle reads both)."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def add_options(parser: argparse.ArgumentParser) -> None:
    """Adds the method's options (and ``--backend``, ``--baseline``) to ``parser``."""
    g = parser.add_argument_group(
        "the method's options (the case format's config keys, docs/spec.md section 10; "
        "default: the config's defaults)")
    g.add_argument("--assigner", metavar="soft|yolov5",
                   help="soft (the method) or yolov5 (YOLOv5's own assigner, as a baseline)")
    g.add_argument("--score", metavar="gaussian|power", help="the soft score's kind")
    g.add_argument("--sigma", type=_number, metavar="S", help="gaussian score's sigma")
    g.add_argument("--n", type=_number, metavar="N", help="power score's n (even)")
    g.add_argument("--distance", metavar="cell_index|continuous|diagonal")
    g.add_argument("--soft-loss", metavar="loss1|loss2|loss3", help="the soft cells' loss")
    g.add_argument("--gamma", type=_number, metavar="G", help="loss1's gamma")
    g.add_argument("--overlap", metavar="last_write|max")
    g.add_argument("--ciou", metavar="v6.0|v7.0", help="whose CIoU (v7.0: the engine's)")
    g.add_argument("--autobalance", action="store_true", default=None,
                   help="update the layer balance at every step, as YOLOv5's ComputeLoss does "
                        "with autobalance=True (its train.py leaves it off)")
    r = parser.add_argument_group("where the loss runs, or which loss")
    r.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="ComputeLoss's backend: cpu (the Rust oracle), torch (torch on the "
                        "tensors' device), gpu (the oracle's WGSL shaders), auto (default: cpu "
                        "for CPU tensors, torch elsewhere)")
    r.add_argument("--baseline", action="store_true",
                   help="YOLOv5's own ComputeLoss, untouched (no method option allowed)")


def given(ns: argparse.Namespace) -> List[str]:
    """The method options given on the command line (as ``--name``)."""
    names = ("assigner", "score", "sigma", "n", "distance", "soft_loss", "gamma", "overlap",
             "ciou", "autobalance")
    return ["--" + k.replace("_", "-") for k in names if getattr(ns, k) is not None]


def config_of(ns: argparse.Namespace) -> Dict[str, Any]:
    """The config keys the given options set (kinds picked by their parameters)."""
    config: Dict[str, Any] = {}
    for key in ("assigner", "distance", "overlap", "ciou", "autobalance"):
        if getattr(ns, key) is not None:
            config[key] = getattr(ns, key)
    kind = ns.score or ("power" if ns.n is not None else "gaussian" if ns.sigma is not None
                        else None)
    if kind is not None:
        config["score"] = {"kind": kind}
        for key in ("n", "sigma"):
            if getattr(ns, key) is not None:
                config["score"][key] = getattr(ns, key)
    kind = ns.soft_loss or ("loss1" if ns.gamma is not None else None)
    if kind is not None:
        config["soft_loss"] = {"kind": kind}
        if ns.gamma is not None:
            config["soft_loss"]["gamma"] = ns.gamma
    return config


def checked(config: Dict[str, Any]) -> Dict[str, Any]:
    """The method's keys with every default explicit, as the oracle reads ``config``.

    Raises:
        OptionError: the oracle's message, after the option that set the refused field.
    """
    try:
        full = so.Config(dict(config), nc=1).to_dict()
    except so.CaseError as e:
        message = str(e)
        field = message.split(":", 1)[0]
        key = re.search(r"unknown key `(\w+)`", message)
        if key and f"{field}.{key.group(1)}" in OPTION_OF:  # e.g. --gamma with loss2
            field = f"{field}.{key.group(1)}"
        option = next((o for f, o in sorted(OPTION_OF.items(), key=lambda x: -len(x[0]))
                       if field == f or field.startswith(f + ".")), None)
        raise OptionError(f"{option}: {message}" if option else message) from None
    return {k: full[k] for k in METHOD_KEYS}


def parse(argv: Sequence[str]) -> Tuple[argparse.Namespace, List[str]]:
    """(our options, the rest) of ``argv``; the rest is YOLOv5's."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    add_options(parser)
    return parser.parse_known_args(list(argv))


def method_of(ns: argparse.Namespace) -> Optional[Dict[str, Any]]:
    """The checked method keys, or None for ``--baseline`` (YOLOv5's own loss).

    Raises:
        OptionError: a refused value, or ``--baseline`` with method options.
    """
    if ns.baseline:
        if given(ns):
            raise OptionError(f"--baseline is YOLOv5's own loss: it takes no method option "
                              f"(given: {' '.join(given(ns))})")
        return None
    return checked(config_of(ns))
