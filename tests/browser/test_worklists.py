"""The dispatcher's worklists in a real browser (issue 10): a hazard whose deadline has passed
is on the overdue list, in red, with how long; the enterprise's tasks fit a 375 px phone."""

from __future__ import annotations

from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.audit_support import fits
from tests.browser.conftest import WAIT, Console, open_page, wait_for_text
from tests.browser.test_signin import type_in
from tests.browser.worklist_support import PASSWORD, Desk, desk

__all__ = ["desk"]


def test_the_overdue_list_shows_a_hazard_past_its_deadline(
    desktop: WebDriver, desk: Desk, console: Console, shot
) -> None:
    desktop.delete_all_cookies()
    type_in(desktop, desk, desk.usernames["dispatcher"], PASSWORD)
    WebDriverWait(desktop, WAIT).until(lambda d: d.current_url.endswith("/console/"))
    row = desktop.find_element(By.ID, f"hazard-{desk.overdue}")
    assert "纺丝车间静电接地失效" in row.text and "已交办" in row.text
    late = row.find_element(By.CSS_SELECTOR, ".late")
    assert late.text.startswith("逾期 13 天")  # assigned 20 days ago, 7 days to rectify
    assert late.value_of_css_property("color") == "rgba(180, 35, 24, 1)"  # 安全红
    count = desktop.find_element(By.ID, "count-overdue")
    assert int(count.find_element(By.CLASS_NAME, "count-number").text) >= 1
    link = row.find_element(By.LINK_TEXT, "纺丝车间静电接地失效").get_attribute("href")
    assert link.endswith(f"/console/hazards/{desk.overdue}")
    shot("dispatcher-overdue", full_page=True)
    assert console.problems() == []


def test_the_enterprise_tasks_fit_a_phone(
    phone: WebDriver, desk: Desk, console: Console, shot
) -> None:
    phone.delete_all_cookies()
    type_in(phone, desk, desk.usernames["enterprise"], PASSWORD)
    WebDriverWait(phone, WAIT).until(lambda d: d.current_url.endswith("/console/"))
    wait_for_text(phone, "接收并提交治理方案")
    assert fits(phone)
    shot("enterprise-phone", full_page=True)
    open_page(phone, f"{desk.server.url}/console/hazards/new")
    assert fits(phone)
    assert console.problems() == []
