"""The auditor's pages in a real browser (issue 10): replay at an instant between two events, a
tampered event broken on the chain and verify pages, a checkpoint written from the page, an
export downloaded; the overview at 1440 and 375 px; no CSP violation anywhere."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from rectify.timers.policy import CHINA_TZ
from tests.browser.audit_support import District, district, fits, next_second, sign_in
from tests.browser.conftest import WAIT, Console, open_page, sized, wait_for_text

__all__ = ["district"]  # the fixture, shared with the enterprise page's tests


def text(driver: WebDriver) -> str:
    return driver.execute_script("return document.body.innerText")


def test_the_auditors_replay_between_two_events_shows_the_earlier_state(
    desktop: WebDriver, district: District, console: Console, shot
) -> None:
    hid = district.report(title="储罐区可燃气体报警器失效")
    next_second()
    district.fire(hid, "assign", assignee="陈工")
    # Assigning issues a 责令限期整改指令书, whose `document_issued` event follows once rendered.
    reported, assigned = (datetime.fromisoformat(e["at"]) for e in district.history(hid)[:2])
    between = reported.replace(microsecond=0) + timedelta(seconds=1)
    assert reported < between <= assigned.replace(microsecond=0) < assigned

    sign_in(desktop, district, "auditor")
    open_page(desktop, f"{district.server.url}/console/hazards/{hid}/replay")
    assert "已交办" in desktop.find_element(By.CSS_SELECTOR, "dd.state-state").text  # now
    # The instant into the datetime-local field as China time, then the button by keyboard.
    field = desktop.find_element(By.ID, "at")
    typed = between.astimezone(CHINA_TZ).strftime("%Y-%m-%dT%H:%M:%S")
    desktop.execute_script("arguments[0].value = arguments[1]", field, typed)
    button = desktop.find_element(By.XPATH, "//button[normalize-space()='回放']")
    button.send_keys(Keys.ENTER)
    WebDriverWait(desktop, WAIT).until(lambda d: "at=" in d.current_url)
    wait_for_text(desktop, "已重放 1 个事件（该隐患共")
    assert desktop.find_element(By.CSS_SELECTOR, "dd.state-state").text == "已登记"
    page = text(desktop)
    assert "与记录一致" in page and "第 2 号 · 交办" in page
    shot("replay-desktop", full_page=True)
    assert console.problems() == []


def test_a_tampered_event_shows_as_broken_on_the_chain_and_verify_pages(
    desktop: WebDriver, district: District, console: Console
) -> None:
    hid = district.report(title="配电室门锁损坏")
    district.fire(hid, "assign", assignee="陈工")
    district.penalise(hid, 1)
    sign_in(desktop, district, "auditor")
    base = district.server.url
    open_page(desktop, f"{base}/console/hazards/{hid}/chain")
    assert "链条完好" in text(desktop)

    where = "WHERE hazard_id = ? AND hazard_seq = 2"
    (original,) = district.sql(f"SELECT payload FROM events {where}", hid)[0]
    try:
        changed = original.replace("陈工", "林工")
        district.sql(f"UPDATE events SET payload = ? {where}", changed, hid)
        open_page(desktop, f"{base}/console/hazards/{hid}/chain")
        event = desktop.find_element(By.ID, "event-2")
        assert "event-broken" in event.get_attribute("class")
        assert "断裂" in event.text and "哈希不符：事件在写入之后被改动过" in event.text
        assert "event-ok" in desktop.find_element(By.ID, "event-3").get_attribute("class")

        open_page(desktop, f"{base}/console/audit/verify")
        link = desktop.find_element(By.CSS_SELECTOR, f'a[href="/console/hazards/{hid}/chain"]')
        row = link.find_element(By.XPATH, "./ancestor::tr")
        assert "哈希不符" in row.text and "hash mismatch" in row.text
        assert "处断裂" in text(desktop)
        link.send_keys(Keys.ENTER)  # keyboard: on to the hazard's chain
        WebDriverWait(desktop, WAIT).until(lambda d: d.current_url.endswith(f"/{hid}/chain"))
    finally:
        district.sql(f"UPDATE events SET payload = ? {where}", original, hid)
    open_page(desktop, f"{base}/console/hazards/{hid}/chain")
    assert "链条完好" in text(desktop)
    assert console.problems() == []


def test_a_checkpoint_written_from_the_page_shows_its_line(
    desktop: WebDriver, district: District, console: Console
) -> None:
    district.report(title="消防水池液位不足")
    sign_in(desktop, district, "auditor")
    open_page(desktop, f"{district.server.url}/console/audit/checkpoints")
    button = desktop.find_element(By.XPATH, "//button[normalize-space()='写入检查点']")
    button.send_keys(Keys.ENTER)
    wait_for_text(desktop, "已写入检查点 #")
    number = desktop.current_url.rsplit("written=", 1)[1]
    line = desktop.find_element(By.ID, f"line-{number}").text
    assert line.startswith(f"rectify-checkpoint v1 #{number} ")
    copy = desktop.find_element(By.CSS_SELECTOR, f'button[data-copy="line-{number}"]')
    assert copy.is_displayed()  # the script ran (served by rectify, no inline script)

    # Paste the published line back and check it.
    box = desktop.find_element(By.ID, "line")
    box.send_keys(line)
    box.find_element(By.XPATH, "./ancestor::form//button[@type='submit']").click()
    wait_for_text(desktop, f"核对通过：检查点 #{number} 与数据库一致")
    assert console.problems() == []


def test_an_export_downloads_with_its_trailer(
    desktop: WebDriver, district: District, console: Console, tmp_path: Path
) -> None:
    district.report(title="叉车安全带缺失")
    desktop.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)}
    )
    sign_in(desktop, district, "auditor")
    open_page(desktop, f"{district.server.url}/console/audit/export")
    desktop.find_element(By.CSS_SELECTOR, 'input[name="format"][value="csv"]').click()
    desktop.find_element(By.XPATH, "//button[normalize-space()='下载']").click()
    deadline = time.monotonic() + WAIT
    files: list[Path] = []
    while time.monotonic() < deadline:
        files = [p for p in tmp_path.glob("rectify-events-*.csv")]
        if files and not list(tmp_path.glob("*.crdownload")):
            break
        time.sleep(0.1)
    assert files, f"nothing downloaded into {tmp_path}: {list(tmp_path.iterdir())}"
    lines = files[0].read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("\ufeff序号 seq")
    label, count, digest = lines[-1].split(",")
    assert label == "尾行 trailer" and count == f"events={len(lines) - 2}"
    assert digest.startswith("sha256=") and len(digest) == len("sha256=") + 64
    assert any("叉车安全带缺失" in row for row in lines)  # the district's own events
    assert console.problems() == []


def test_the_auditors_overview_at_desktop_and_phone_width(
    browser: WebDriver, district: District, console: Console, shot
) -> None:
    district.report(title="仓库堆垛超高")
    sign_in(browser, district, "auditor")
    for name, (width, height, mobile) in {
        "desktop": (1440, 900, False),
        "phone": (375, 812, True),
    }.items():
        sized(browser, width, height, mobile=mobile)
        open_page(browser, f"{district.server.url}/console/audit/")
        assert "审计概览" in text(browser) and "仓库堆垛超高" in text(browser)
        assert fits(browser), f"the overview is wider than {width} px"
        shot(f"audit-overview-{name}", full_page=True)
        open_page(browser, f"{district.server.url}/console/audit/checkpoints")
        assert fits(browser), f"the checkpoints page is wider than {width} px"
        shot(f"audit-checkpoints-{name}", full_page=True)
    sized(browser, 1440, 900, mobile=False)
    assert console.problems() == []
