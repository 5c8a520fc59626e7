"""Signing in and out in a real browser (issue 10): every role reaches its own landing page
and signs out; a wrong password says so; repeated failures lock the account; a POST without
the CSRF token is refused. A screenshot of each role's landing page is saved."""

from __future__ import annotations

from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import WAIT, Console, open_page, wait_for_text
from tests.browser.worklist_support import PASSWORD, ROLES, Desk, desk

__all__ = ["desk"]

# What each role's landing page says first.
LANDING = {
    "dispatcher": "已逾期",
    "inspector": "待验收",
    "enterprise": "待办事项",
    "auditor": "查看一个隐患的链条与回放",
    "admin": "人员管理",
}


def text(driver: WebDriver) -> str:
    return driver.execute_script("return document.body.innerText")


def type_in(driver: WebDriver, desk: Desk, username: str, password: str) -> None:
    open_page(driver, f"{desk.server.url}/console/login")
    driver.find_element(By.NAME, "username").send_keys(username)
    field = driver.find_element(By.NAME, "password")
    field.send_keys(password)
    field.submit()
    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def test_every_role_signs_in_to_its_page_and_out(
    desktop: WebDriver, desk: Desk, console: Console, shot
) -> None:
    desktop.delete_all_cookies()
    for role, (_, name, _) in ROLES.items():
        type_in(desktop, desk, desk.usernames[role], PASSWORD)
        WebDriverWait(desktop, WAIT).until(lambda d: d.current_url.endswith("/console/"))
        wait_for_text(desktop, LANDING[role])
        assert name in text(desktop)
        shot(f"home-{role}", full_page=True)
        desktop.find_element(By.XPATH, "//button[normalize-space()='退出登录']").click()
        WebDriverWait(desktop, WAIT).until(lambda d: "/console/login" in d.current_url)
        open_page(desktop, f"{desk.server.url}/console/")
        assert "/console/login" in desktop.current_url  # signed out: the console asks again
    assert console.problems() == []


def test_a_wrong_password_is_said_and_failures_lock_the_account(
    desktop: WebDriver, desk: Desk
) -> None:
    desktop.delete_all_cookies()
    username = desk.usernames["inspector"]
    type_in(desktop, desk, username, "不是这个密码 123")
    wait_for_text(desktop, "用户名或密码不正确")
    assert desktop.find_element(By.NAME, "username").get_attribute("value") == username
    # Nine failures already on record (config: login_lockout_after = 10), none recent: the
    # tenth locks the account, and then even the right password is refused.
    desk.sql(
        "UPDATE principals SET failed_logins = 9, last_failed_at = NULL WHERE username = ?",
        username,
    )
    type_in(desktop, desk, username, "还是不对的密码 456")
    type_in(desktop, desk, username, PASSWORD)
    wait_for_text(desktop, "账户已暂时锁定")
    assert "/console/login" in desktop.current_url
    locked = [
        line
        for line in desk.server.output().splitlines()
        if "account locked after repeated sign-in failures" in line and username in line
    ]
    assert len(locked) == 1  # the lock-out is logged, once
    desk.sql(
        "UPDATE principals SET failed_logins = 0, locked_until = NULL WHERE username = ?",
        username,
    )


def test_a_post_without_the_csrf_token_is_refused(desktop: WebDriver, desk: Desk) -> None:
    desktop.delete_all_cookies()
    type_in(desktop, desk, desk.usernames["dispatcher"], PASSWORD)
    WebDriverWait(desktop, WAIT).until(lambda d: d.current_url.endswith("/console/"))
    status = desktop.execute_async_script(
        """const done = arguments[0];
        fetch('/console/logout', {method: 'POST', body: new URLSearchParams({a: '1'})})
          .then(r => done(r.status));"""
    )
    assert status == 403
    open_page(desktop, f"{desk.server.url}/console/")
    assert desktop.current_url.endswith("/console/")  # still signed in: nothing was done
