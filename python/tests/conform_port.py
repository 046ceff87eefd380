"""An external port for ``softobj conform`` (test_harness.py): reads the case file with
``so.load_case``, answers it with the reference port of ``ports`` (with a planted bug when one
is named) and writes the answer file with ``so.write_answer``. An exception of the port goes
to stderr as a traceback, which ``softobj conform`` reads.

    python conform_port.py CASE ANSWER [BUG]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import soft_objectness as so  # noqa: E402
from ports import reference_port  # noqa: E402


def main(case_path: str, answer_path: str, bug: str = "") -> None:
    case = so.load_case(case_path)
    port = reference_port(bug or None)
    answer = port(case["config"], case["inputs"]["targets"], case["inputs"]["predictions"])
    so.write_answer(answer_path, answer)


if __name__ == "__main__":
    main(*sys.argv[1:])
