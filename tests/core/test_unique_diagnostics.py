"""One way to drop repeated findings (builder.core.checks.unique_diagnostics), used by inspection and review."""

from __future__ import annotations

from builder.core.checks import Diagnostic, Severity, unique_diagnostics


def finding(message: str, **where) -> Diagnostic:
    return Diagnostic(check="REC003", severity=Severity.ERROR, message=message, **where)


def test_the_same_finding_at_the_same_place_is_kept_once_in_order():
    first = finding("bad value", file="studies/OIA-000001/study.yaml", line=3, field="title")
    found = [first, finding("other"), finding("bad value", file="studies/OIA-000001/study.yaml", line=3, field="title")]
    assert unique_diagnostics(found) == [first, finding("other")]
    assert unique_diagnostics(found)[0] is first


def test_the_same_message_elsewhere_is_another_finding():
    found = [finding("bad value", line=3), finding("bad value", line=4), finding("bad value", line=3, column=2),
             finding("bad value", line=3, field="a"), finding("bad value", file="x.yaml", line=3)]
    assert unique_diagnostics(found) == found
