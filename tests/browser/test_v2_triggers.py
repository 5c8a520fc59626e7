"""Workflow v2's new steps driven through the hazard page's forms in a real browser (issue 14):
on-the-spot measures by the inspector at discovery (安全生产法 art. 65), and a refused filing
taken through reconsideration to 立案监督 (国务院令第310号 art. 9)."""

from __future__ import annotations

from pathlib import Path

from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from tests.browser.audit_support import District, district, sign_in
from tests.browser.conftest import Console
from tests.browser.test_hazard_page import (
    branch,
    fill,
    hazard,
    inspector,
    press,
    transfer,
)

__all__ = ["district", "inspector"]


def test_on_the_spot_measures_and_a_refused_filing_through_reconsideration(
    desktop: WebDriver, district: District, inspector: str, console: Console, tmp_path: Path
) -> None:
    hid = district.report("A", grade="major", title="受限空间作业未检测气体")

    # The inspector, at discovery (state 已登记), stops the work and withdraws the people.
    sign_in(desktop, district, "inspector")
    hazard(desktop, district, hid)
    assert desktop.find_element(By.ID, "main-state").text == "已登记"
    f = fill(desktop, "order_on_the_spot", scope="3号受限空间", reason="未检测氧含量即进入作业")
    f.find_element(By.CSS_SELECTOR, 'input[name="measures"][value="stop_work"]').click()
    f.find_element(By.CSS_SELECTOR, 'input[name="measures"][value="withdraw_people"]').click()
    press(desktop, "order_on_the_spot", "现场处理措施")
    assert branch(desktop, "production") == "停产整顿"
    assert desktop.find_element(By.ID, "main-state").text == "已登记"  # no assignment yet

    # The dispatcher transfers it; the police refuse to file, the office asks them to reconsider,
    # they uphold the refusal, the office asks the procuratorate for 立案监督.
    sign_in(desktop, district, "dispatcher")
    hazard(desktop, district, hid)
    fill(desktop, "assign", assignee="安全部")
    press(desktop, "assign", "交办")
    transfer(desktop, tmp_path, seed=31)
    fill(desktop, "record_judicial_decision", decision="not_filed", reason="证据不足")
    press(desktop, "record_judicial_decision", "登记立案决定")
    assert branch(desktop, "judicial") == "不予立案"
    fill(desktop, "request_reconsideration", document_no="西湖应急复〔2026〕1号", reason="证据充分")
    press(desktop, "request_reconsideration", "申请复议")
    assert branch(desktop, "judicial") == "已申请复议"
    fill(desktop, "record_judicial_decision", decision="not_filed", reason="维持原决定")
    press(desktop, "record_judicial_decision", "登记立案决定")
    assert branch(desktop, "judicial") == "复议维持不予立案"
    fill(
        desktop,
        "request_filing_supervision",
        procuratorate="杭州市西湖区人民检察院",
        document_no="西湖应急监〔2026〕1号",
        reason="应当立案而不立案",
    )
    press(desktop, "request_filing_supervision", "提请立案监督")
    assert branch(desktop, "judicial") == "已提请立案监督"
    # Each step is an event of the history, shown on the page's timeline by its label.
    timeline = desktop.find_element(By.ID, "history").text
    for label in ("现场处理措施", "申请复议", "提请立案监督"):
        assert label in timeline, label
    assert console.problems() == []
