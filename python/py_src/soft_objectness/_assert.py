"""``assert_conforms``: :func:`soft_objectness.check` as an assertion, with a message in the
style of ``torch.testing.assert_close``; ``assert_port_conforms``: the porter's harness
(:func:`soft_objectness.conformance`) as an assertion whose message is its diagnosis. Nothing
is judged here: the verdicts and every number are the Rust crate's; this module only words
them."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

from ._core import Conformance, Report, check, conformance


def assert_conforms(
    case: Any,
    answer: Any,
    preset: str = "f64",
    *,
    msg: Optional[str] = None,
    only: Union[str, Sequence[str], None] = None,
    listed: int = 8,
    **tolerances: float,
) -> None:
    """Raises ``AssertionError`` unless ``answer`` conforms (see :func:`check`, which takes the
    same arguments); the message reads like ``torch.testing.assert_close``'s: per failing
    field the mismatched elements (count and share), the greatest absolute and relative
    differences and where, the first mismatches with the input logit there. ``msg`` replaces
    its first line."""
    report = check(case, answer, preset, only=only, listed=listed, **tolerances)
    if not report.ok:
        raise AssertionError(assertion_message(report, msg))


def _num(x: Optional[float]) -> str:
    return "n/a" if x is None else f"{x:.6g}"


def assertion_message(report: Report, msg: Optional[str] = None) -> str:
    """The message of :func:`assert_conforms` for a report that does not conform."""
    t = report.tolerances
    lines = [
        msg
        or (
            f"The answer does not conform to the oracle ({report.preset} tolerances: "
            f"rtol {t['rtol']:g}, atol {t['atol']:g}, tobj_atol {t['tobj_atol']:g}, "
            f"grad_rtol {t['grad_rtol']:g})."
        )
    ]
    if report.missing:
        lines.append(f"Missing required fields: {', '.join(report.missing)}.")
    for p in report.problems:
        lines.append(f"Structural problem: {p}.")
    if report.class_changes != "none":
        lines.append(f"tobj cells that change class: {report.class_changes}.")
    for p in report.patterns:
        lines.append(f"Pattern: {p}")
    for f in report.fields:
        if not f["passed"]:
            lines += _field_lines(f)
    return "\n".join(lines)


def _field_lines(f: dict) -> list:
    """The lines of one failing field of the report."""
    share = f["failed"] / f["compared"] if f["compared"] else 0.0
    w = f["worst"]
    where = f" at {w['location']}" if w and w["location"] else ""
    allowed = f" (up to {_num(w['allowed'])} allowed)" if w else ""
    lines = [
        "",
        f"{f['field']} ({f['rule']}):",
        f"Mismatched elements: {f['failed']} / {f['compared']} ({share:.1%})",
        f"Greatest absolute difference: {_num(f['max_abs_err'])}{where}{allowed}",
        f"Greatest relative difference: {_num(f['max_rel_err'])}",
    ]
    for m in f["first_failures"][:3]:
        at = f" at {m['location']}" if m["location"] else ""
        logit = "" if m["logit"] is None else f", input logit {_num(m['logit'])}"
        cls = "" if not m["classes"] else f", class {m['classes'][0]} -> {m['classes'][1]}"
        lines.append(f"  {f['field']}{at}: got {m['got']!r}, want {m['want']!r}{cls}{logit}")
    return lines


def assert_port_conforms(
    port: Callable[..., Any],
    cases: Optional[Iterable[Any]] = None,
    *,
    msg: Optional[str] = None,
    preset: str = "f64",
    only: Union[str, Sequence[str], None] = None,
    count: int = 100,
    seed: int = 0,
    space: Optional[Mapping[str, Any]] = None,
    shrink: bool = True,
    timeout: Optional[float] = 10.0,
    shrink_calls: int = 200,
    **tolerances: float,
) -> Conformance:
    """Runs the porter's harness (:func:`conformance`, which takes the same arguments) and
    raises ``AssertionError`` unless every case conforms; the message is the harness's
    diagnosis (per failure group its suspects first, then where it fails and its smallest
    case), with how to write the smallest cases. ``msg`` goes before it. Returns the
    :class:`Conformance` when the port conforms."""
    c = conformance(port, cases, preset=preset, only=only, count=count, seed=seed, space=space,
                    shrink=shrink, timeout=timeout, shrink_calls=shrink_calls, **tolerances)
    if not c.ok:
        lines = [msg] if msg else []
        lines.append(str(c).rstrip("\n"))
        if c.minimal:
            lines.append(
                "so.conformance with the same arguments returns the smallest cases "
                "(.minimal[i]['case']; so.write_case writes one)."
            )
        raise AssertionError("\n".join(lines))
    return c
