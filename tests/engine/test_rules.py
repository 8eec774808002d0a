"""Pure rules: routing, emergency numbers, survey levels, timer plans, notice rendering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from catalog.model import CaseType, Catalog, Service
from dispatch.case import Case, SurveyResult
from dispatch.emergency import emergency_number
from dispatch.reminders import TimerKind, Window, deadline_timers, overtaken
from dispatch.routing import route, suggested_departments
from dispatch.surveys import result_of_level
from handlers.callbacks import decode
from handlers.notices import render

T = datetime(2026, 11, 2, 1, tzinfo=UTC)


def test_routing_rules(catalog: Catalog) -> None:
    svc = catalog.services["YL001"]
    r = route(catalog, svc, grid="HB01-1")
    assert (r.department, r.delivery, r.street, r.community, r.inform_office) == (
        svc.department, str(svc.delivery), "HB", "HB01", None,
    )  # fmt: skip
    r = route(catalog, catalog.case_types["XF05"], grid="QB02-1")
    assert (r.department, r.co_departments, r.inform_office) == ("XFD", ("CGJ", "GAJ"), "QBJD")
    assert route(catalog, catalog.case_types["HJ01"]).inform_office is None  # no grid, no street
    for item, conf, reason in [
        (None, None, "none_of_these"),
        (catalog.case_types["HJ01"], 0.1, "unclear"),
        (catalog.case_types["MS99"], 0.99, "catch_all"),
    ]:
        r = route(catalog, item, grid="HB01-1", confidence=conf)
        assert (r.department, r.via_center, r.reason) == ("LDZX", True, reason)
    assert route(catalog, catalog.case_types["HJ01"], grid="XX99-9").street is None
    assert suggested_departments(catalog, "XF05", "QB") == ["XFD", "CGJ", "GAJ", "QBJD"]


@pytest.mark.parametrize(
    ("code", "number"),
    [("XF04", "119"), ("FW04", "119"), ("XF02", "119"), ("SP04", "120"), ("TS01", "120"),
     ("TS03", "110"), ("JF05", "110"), ("ZA01", "110"), ("AY008", "120"), ("AY032", "110")],
)  # fmt: skip
def test_emergency_numbers(catalog: Catalog, code: str, number: str) -> None:
    assert emergency_number(catalog.service_or_case(code)) == number


def test_every_emergency_item_has_a_number(catalog: Catalog) -> None:
    from dispatch.deadlines import severity_of

    items: list[Service | CaseType] = [*catalog.services.values(), *catalog.case_types.values()]
    emergencies = [i for i in items if str(severity_of(i)) == "emergency"]
    assert len(emergencies) >= 8
    assert {emergency_number(i) for i in emergencies} <= {"110", "119", "120"}


def test_survey_levels() -> None:
    assert result_of_level("5") is SurveyResult.VERY_SATISFIED
    assert result_of_level(1) is SurveyResult.VERY_UNSATISFIED
    for bad in ("0", "6", "x"):
        with pytest.raises(ValueError):
            result_of_level(bad)


def _case(catalog: Catalog) -> Case:
    return Case.submit(
        id="c", number="SC-20261102-0001", item=catalog.case_types["HJ01"], requester_id="p",
        channel="telegram", chat_id="1", text="垃圾", at=T,
    )  # fmt: skip


def test_timer_plan_and_overtaking(catalog: Catalog) -> None:
    case = _case(catalog)  # response 2 h, resolve 24 h
    plan = dict(deadline_timers(case, T))
    assert plan["response_50@0"] == T + timedelta(hours=1)
    assert plan["response_80@0"] == T + timedelta(minutes=96)
    assert plan["resolve_due@0"] == T + timedelta(hours=24)
    k50 = TimerKind.parse("response_50@0")
    assert k50.window is Window.RESPONSE and k50.fraction == 0.5
    assert not overtaken(case, k50, plan["response_50@0"], T + timedelta(minutes=95))
    assert overtaken(case, k50, plan["response_50@0"], T + timedelta(minutes=96))
    k80 = TimerKind.parse("response_80@0")
    assert overtaken(case, k80, plan["response_80@0"], T + timedelta(hours=2))
    assert not overtaken(
        case, TimerKind.parse("response_due@0"), plan["response_due@0"], T + timedelta(days=9)
    )


KINDS = [
    "case_submitted", "case_assigned", "case_assigned_co", "case_info", "emergency_alert", "case_accepted",
    "case_resolved", "survey_reminder", "case_closed", "case_returned", "case_reopened", "case_cancelled",
    "case_escalated", "deadline_reminder", "duplicate_linked",
]  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_every_notice_renders_with_valid_buttons(catalog: Catalog, kind: str) -> None:
    payload = {
        "case_id": "c", "number": "SC-20261102-0001", "code": "HJ01", "name": "垃圾堆积未及时清运",
        "kind": "case", "status": "assigned", "event": "assigned", "note": "", "at": T.isoformat(),
        "department": "CGJ", "recipient": "department:CGJ", "response_due": T.isoformat(),
        "resolve_due": T.isoformat(), "street": "HB", "reason": "不归我们", "from_department": "ZJJ",
        "window": "response", "percent": "80", "due": T.isoformat(), "original": "SC-20261101-0003",
        "emergency_number": "119", "level": 1,
    }  # fmt: skip
    reply = render(kind, payload, catalog)
    assert "SC-20261102-0001" in reply.text or "SC-20261101-0003" in reply.text
    for row in reply.buttons:
        for button in row:
            assert decode(button.data).args[0] == "SC-20261102-0001"


def test_center_gets_assign_buttons_and_requester_gets_survey(catalog: Catalog) -> None:
    base = {"number": "SC-20261102-0001", "code": "XF05", "street": "QB", "at": T.isoformat()}
    center = render("case_assigned", {**base, "recipient": "department:LDZX"}, catalog)
    first = [decode(b.data).args[1] for b in center.buttons[0]]
    assert first == ["XFD", "CGJ", "GAJ"]
    assert sum(len(r) for r in center.buttons) == len(catalog.departments) - 1
    survey = render("case_resolved", {**base, "recipient": "requester"}, catalog)
    levels = [decode(b.data).args[1] for row in survey.buttons for b in row]
    assert levels == ["5", "4", "3", "2", "1"]
    assert render("case_submitted", {**base, "emergency_number": "119"}, catalog).text.startswith("情况紧急")
