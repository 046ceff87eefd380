"""The conformance report of :func:`soft_objectness.check`, as computed by the Rust crate's
``conformance::compare_with`` (nothing is judged here: this module only presents)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional


class Report:
    """Whether an answer conforms to the oracle, and how far off each field is.

    Attributes:
        ok: the answer conforms (every required field present, no structural problem, every
            value within tolerance, no ``tobj`` cell changing class).
        verdict: one line, ``conforms`` or what fails.
        text: the report ``softobj check`` prints (also ``str(report)``).
        tolerances: ``{"rtol", "atol", "tobj_atol", "grad_rtol"}`` applied; ``preset`` names
            them (``f64``, ``f32`` or ``custom``).
        fields: one dict per compared field, in the answer format's order: ``field``,
            ``rule`` (the formula), ``passed``, ``compared``, ``failed``, ``max_abs_err``,
            ``max_rel_err``, ``worst`` and ``first_failures`` (mismatch dicts).
        missing, not_given, problems: required fields absent, optional fields absent,
            structural problems (layer counts, shapes).
        class_changes: ``tobj`` cells whose class changed, in words.
        patterns: the named failure patterns the comparison recognised, in words.

    A mismatch dict has ``location`` (the report's words), ``kind`` (``scalar``, ``layer``,
    ``cell``, ``channel``, ``count``, ``row``), the indices that apply (``layer``, ``image``,
    ``anchor``, ``y``, ``x``, ``channel``, ``row``, ``item``, ``class``), ``got``, ``want``,
    ``allowed``, ``classes`` (oracle class, answer class: ``tobj`` cells), ``logit``, the
    input prediction at that place (the objectness channel for a ``tobj`` cell), and
    ``writer``, the oracle row that wrote a ``tobj`` cell (in words; None when none did).
    """

    def __init__(self, d: Dict[str, Any], preset: str) -> None:
        self._d = d
        self.preset = preset

    ok = property(lambda self: bool(self._d["conforms"]))
    verdict = property(lambda self: self._d["verdict"])
    text = property(lambda self: self._d["text"])
    tolerances = property(lambda self: dict(self._d["tolerances"]))
    fields = property(lambda self: list(self._d["fields"]))
    missing = property(lambda self: list(self._d["missing"]))
    not_given = property(lambda self: list(self._d["not_given"]))
    problems = property(lambda self: list(self._d["problems"]))
    patterns = property(lambda self: list(self._d["patterns"]))
    class_changes = property(lambda self: self._d["class_changes"])

    def field(self, name: str) -> Optional[Dict[str, Any]]:
        """The report of one field (``loss``, ``tobj``, ``grad``, ...), or None when not
        compared."""
        return next((f for f in self._d["fields"] if f["field"] == name), None)

    @property
    def worst(self) -> Dict[str, Dict[str, float]]:
        """Per field ``{"abs": max_abs_err, "rel": max_rel_err}``."""
        return {f["field"]: {"abs": f["max_abs_err"], "rel": f["max_rel_err"]} for f in self._d["fields"]}

    @property
    def failures(self) -> List[Dict[str, Any]]:
        """The first failures of every field (each with its ``field``)."""
        return [dict(m, field=f["field"]) for f in self._d["fields"] for m in f["first_failures"]]

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<Report {self.verdict}>"


def _num(x: Optional[float]) -> str:
    return "n/a" if x is None else f"{x:.6g}"


def format_assertion(report: Report, msg: Optional[str] = None) -> str:
    """The message of ``assert_conforms``, in the style of ``torch.testing.assert_close``."""
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
        if f["passed"]:
            continue
        share = f["failed"] / f["compared"] if f["compared"] else 0.0
        lines.append("")
        lines.append(f"{f['field']} ({f['rule']}):")
        lines.append(f"Mismatched elements: {f['failed']} / {f['compared']} ({share:.1%})")
        w = f["worst"]
        where = f" at {w['location']}" if w and w["location"] else ""
        allowed = f" (up to {_num(w['allowed'])} allowed)" if w else ""
        lines.append(f"Greatest absolute difference: {_num(f['max_abs_err'])}{where}{allowed}")
        lines.append(f"Greatest relative difference: {_num(f['max_rel_err'])}")
        for m in f["first_failures"][:3]:
            at = f" at {m['location']}" if m["location"] else ""
            logit = "" if m["logit"] is None else f", input logit {_num(m['logit'])}"
            cls = "" if not m["classes"] else f", class {m['classes'][0]} -> {m['classes'][1]}"
            lines.append(f"  {f['field']}{at}: got {m['got']!r}, want {m['want']!r}{cls}{logit}")
    return "\n".join(lines)
