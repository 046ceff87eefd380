"""The survey behind ``README.md``: every port (the correct one and each planted bug) over the
case sets, judged by ``so.check(case, answer, "f64")``.

Run from ``python/tests`` (the package ``ports`` is imported from there)::

    python -m ports.survey [--count 200] [--seed 0] [--bugs NAME,...] [--f32]

Case sets: ``random`` = ``so.gen_cases(count, seed)`` (the whole random space: 1 to 5 layers
of 1 to 4 anchors, 1 to 4 images, 1 to 8 classes), ``edge`` = ``so.gen_cases(edge=True)``,
``shapes`` = :func:`shape_cases` (``nl != na`` and ``nc == 1`` on every case). Prints one markdown row per port: cases failed / cases checked per set, the
failing fields with how many cases fail each, the port's own milliseconds per case (without
``so.check``), then the edge-mix cases each port fails. With ``--f32`` the same under the
``f32`` preset.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import soft_objectness as so

from .bugs import BUGS, reference_port
from .cases import sub_case


def shape_cases(seed: int = 7) -> List[Dict[str, Any]]:
    """Cases of the shapes two bugs need: ``nl != na`` (cut out of generated cases of 3 layers
    of 3 anchors: 2 layers of 1 anchor, 3 of 2, 1 of 3, 2 of 3), and ``nc == 1``."""
    base = so.gen_cases(4, seed=seed, space={"nl": 3, "na": 3})
    cuts = [([0, 1], [0]), ([0, 1, 2], [0, 2]), ([1], [0, 1, 2]), ([0, 2], [0, 1, 2])]
    out = [sub_case(c, layers, anchors) for c in base for layers, anchors in cuts]
    out += so.gen_cases(8, seed=seed, space={"nc": 1})
    return out


def case_sets(count: int = 200, seed: int = 0) -> Dict[str, List[Dict[str, Any]]]:
    return {
        "random": so.gen_cases(count, seed=seed),
        "edge": so.gen_cases(edge=True),
        "shapes": shape_cases(),
    }


def edge_key(case: Mapping[str, Any]) -> str:
    """The key of an edge-mix case (its name up to the colon: ``nc-1``, ``focal``, ...)."""
    return str(case["name"]).split(":")[0]


def failing_fields(report: Any) -> List[str]:
    """The fields a report fails on: compared fields out of tolerance, missing required
    fields, and ``structure`` for layer counts and shapes that disagree."""
    bad = [f["field"] for f in report.fields if not f["passed"]]
    bad += [f"missing {m}" for m in report.missing]
    if report.problems:
        bad.append("structure")
    return bad


def judge(port: Any, case: Mapping[str, Any], preset: str = "f64") -> Tuple[List[str], float]:
    """(failing fields, seconds the port took) of one case; a port that raises fails with
    ``raised TYPE``. The seconds are the port's alone, not the judging."""
    cfg, t, p = case["config"], case["inputs"]["targets"], case["inputs"]["predictions"]
    t0 = time.perf_counter()
    try:
        answer = port(cfg, t, p)
    except Exception as e:  # a crash is the port's failure, reported as such
        return [f"raised {type(e).__name__}"], time.perf_counter() - t0
    dt = time.perf_counter() - t0
    report = so.check(case, answer, preset)
    return ([] if report.ok else failing_fields(report) or ["?"]), dt


def survey(names: Sequence[Optional[str]], sets: Mapping[str, Sequence[Mapping[str, Any]]],
           preset: str = "f64") -> List[Dict[str, Any]]:
    rows = []
    for name in names:
        port = reference_port(name)
        row: Dict[str, Any] = {"bug": name or "(none)", "sets": {}, "fields": collections.Counter(),
                               "seconds": 0.0, "cases": 0, "failed_edge": []}
        for set_name, cases in sets.items():
            failed = 0
            for case in cases:
                bad, dt = judge(port, case, preset)
                row["seconds"] += dt
                row["cases"] += 1
                failed += bool(bad)
                if bad and set_name == "edge":
                    row["failed_edge"].append(edge_key(case))
                row["fields"].update(bad)
            row["sets"][set_name] = (failed, len(cases))
        rows.append(row)
    return rows


def markdown(rows: Sequence[Mapping[str, Any]], sets: Sequence[str]) -> str:
    head = ["bug", "spec rule", "responsible key"] + [f"{s} failed" for s in sets] + [
        "failing fields (cases)", "ms/case"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        bug = BUGS.get(r["bug"])
        rule = bug.rule if bug else "-"
        keys = ", ".join(f"`{k}`" for k in bug.keys) if bug and bug.keys else "-"
        counts = [f"{r['sets'][s][0]}/{r['sets'][s][1]}" for s in sets]
        fields = ", ".join(f"{f} ({n})" for f, n in r["fields"].most_common()) or "-"
        ms = 1000.0 * r["seconds"] / max(r["cases"], 1)
        cells = [f"`{r['bug']}`", rule, keys, *counts, fields, f"{ms:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bugs", default="", help="comma-separated bug names (default: all)")
    ap.add_argument("--f32", action="store_true", help="judge with the f32 preset")
    args = ap.parse_args(argv)
    names: List[Optional[str]] = [None] + (args.bugs.split(",") if args.bugs else list(BUGS))
    sets = case_sets(args.count, args.seed)
    t0 = time.perf_counter()
    rows = survey(names, sets, "f32" if args.f32 else "f64")
    print(markdown(rows, list(sets)))
    print("\nEdge-mix cases each port fails:\n")
    for r in rows:
        edge = r["failed_edge"]
        shown = ", ".join(edge[:12]) + (f", ... ({len(edge)})" if len(edge) > 12 else "")
        print(f"- `{r['bug']}`: {shown or '-'}")
    print(f"\n{sum(len(c) for c in sets.values())} cases per port, "
          f"{time.perf_counter() - t0:.1f} s in all", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
