"""The planted-bug table of ``README.md``: what the porter's harness (``so.conformance``) says
about each planted bug, in its own words.

Run from ``python/tests`` (the package ``ports`` is imported from there)::

    python -m ports.table           # prints the table
    python -m ports.table --write   # and writes it into README.md between its markers

Each bug's port goes through ``so.conformance(port, count=COUNT, seed=SEED)`` (the edge mix
and ``COUNT`` random cases, every failure group shrunk). A row gives the bug, the config keys
it should be blamed on (``Bug.keys``), the harness's first suspect that names one of them with
its rank among all suspects, and the smallest case of that suspect's group. For the two float32
bugs, which no option is to blame for, the row gives the float32 finding and what the harness
says after judging again under the ``f32`` preset. ``test_harness.py`` runs the same harness
calls and fails when this table is not what they give.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any, List, Mapping, Optional, Sequence

import soft_objectness as so

from .bugs import BUGS, Bug, reference_port

COUNT = 100
SEED = 0
README = Path(__file__).with_name("README.md")
BEGIN = "<!-- planted-bug table: python -m ports.table --write -->"
END = "<!-- end of the planted-bug table -->"


def run(bug: Optional[str]) -> Any:
    """The harness's finding on the port with ``bug`` planted (None: the correct port)."""
    return so.conformance(reference_port(bug), count=COUNT, seed=SEED)


def blamed(bug: Bug, c: Any) -> Optional[int]:
    """The index in ``c.suspects`` of the first suspect naming one of the bug's keys (any
    suspect for a bug without keys); None when there is none."""
    for i, s in enumerate(c.suspects):
        if not bug.keys or set(s["keys"]) & set(bug.keys):
            return i
    return None


def row(bug: Bug, c: Any) -> List[str]:
    """The cells of one bug's row."""
    keys = ", ".join(f"`{k}`" for k in bug.keys) or "- (float32)"
    i = blamed(bug, c)
    said = []
    if c.precision is not None:
        p = c.precision
        said.append(f"float32 finding: {p['exact_f32']}/{p['failing']} failing answers hold only "
                    f"float32 values, {p['within_f32']} conform under f32")
    if i is None:
        said.append("no suspect" if c.precision is None else "no failure left under f32")
        rank, smallest = "-", "-"
    else:
        s = c.suspects[i]
        said.append(s["sentence"])
        rank = str(i + 1)
        smallest = next((m["size"] for m in c.minimal if m["group"] == s["group"]), "-")
    return [f"`{bug.name}`", keys, "; then ".join(said), rank, smallest]


def markdown(rows: Sequence[Sequence[str]]) -> str:
    head = ["bug", "responsible key", "the harness's suspect", "rank", "smallest case"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def table(runs: Mapping[str, Any]) -> str:
    """The table of ``runs`` (a conformance per bug name, every bug of ``BUGS``)."""
    return markdown([row(BUGS[name], runs[name]) for name in BUGS])


def in_readme(text: Optional[str] = None) -> str:
    """The table as ``README.md`` has it, between its markers."""
    text = README.read_text(encoding="utf-8") if text is None else text
    m = re.search(re.escape(BEGIN) + r"\n(.*?)\n" + re.escape(END), text, re.S)
    if m is None:
        raise ValueError(f"{README}: no planted-bug table between {BEGIN!r} and {END!r}")
    return m.group(1)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help="write the table into README.md")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    got = table({name: run(name) for name in BUGS})
    print(got)
    if args.write:
        text = README.read_text(encoding="utf-8")
        old = in_readme(text)
        README.write_text(text.replace(BEGIN + "\n" + old + "\n", BEGIN + "\n" + got + "\n"),
                          encoding="utf-8")
    print(f"{len(BUGS)} bugs, {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
