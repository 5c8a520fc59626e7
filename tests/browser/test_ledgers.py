"""The ledgers page in a real browser (issue 12): what each ledger holds, at 1440 and 375 px,
and a ledger downloaded from it — by its Excel link, and through the filter form as CSV — then
opened with openpyxl and the csv module."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import openpyxl
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.browser.audit_support import District, district, fits, sign_in
from tests.browser.conftest import WAIT, Console, open_page, sized

__all__ = ["district"]


def downloaded(folder: Path, suffix: str, before: set[Path]) -> Path:
    """The file a download left in `folder` once Chromium has finished writing it."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        done = [p for p in folder.glob(f"*{suffix}") if p not in before]
        if done and not list(folder.glob("*.crdownload")):
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} arrived in {folder}: {sorted(folder.iterdir())}")


def test_a_ledger_downloads_from_the_console_and_opens(
    browser: WebDriver, district: District, console: Console, tmp_path: Path, shot
) -> None:
    title = f"液氨管道阀门泄漏{district.suffix}"
    major = district.report("A", grade="major", title=title)
    district.fire(major, "assign", assignee="陈工")
    district.report("B", title=f"仓库通道堵塞{district.suffix}")
    folder = tmp_path / "downloads"
    folder.mkdir()
    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)}
    )
    sign_in(browser, district, "dispatcher")
    url = f"{district.server.url}/console/ledgers"
    for name, (width, height, mobile) in {
        "phone": (375, 812, True),
        "desktop": (1440, 900, False),
    }.items():
        sized(browser, width, height, mobile=mobile)
        open_page(browser, url)
        page = browser.execute_script("return document.body.innerText")
        for ledger in ("隐患排查治理台账", "进度清单", "责任清单", "督办台账", "追责问责清单"):
            assert ledger in page
        assert "监管执法和案件查办清单" in page
        assert fits(browser), f"the ledgers page is wider than {width} px"
        shot(f"ledgers-{name}", full_page=True)
    assert browser.find_element(By.LINK_TEXT, "台账").get_attribute("href").endswith("/ledgers")

    before = set(folder.iterdir())
    browser.find_element(By.ID, "download-hazards-xlsx").click()
    book = openpyxl.load_workbook(downloaded(folder, ".xlsx", before))
    sheet = book.active
    assert sheet.title == "隐患排查治理台账" and sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("隐患编号", "企业名称", "统一社会信用代码")
    mine = [r for r in rows[1:] if r[0] == major]
    assert len(mine) == 1 and mine[0][8] == title and mine[0][6] == "重大事故隐患"
    assert mine[0][1] == f"西湖A化工有限公司{district.suffix}"
    assert mine[0][13] is not None  # the deadline assign set, a date cell

    # The filter form: major hazards only, as CSV.
    Select(browser.find_element(By.ID, "kind")).select_by_value("hazards")
    Select(browser.find_element(By.ID, "grade")).select_by_value("major")
    browser.find_element(By.CSS_SELECTOR, "input[name=format][value=csv]").click()
    before = set(folder.iterdir())
    browser.find_element(By.ID, "ledger-submit").click()
    data = downloaded(folder, ".csv", before).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0][0] == "隐患编号"
    assert {r[6] for r in table[1:]} == {"重大事故隐患"}
    assert str(major) in {r[0] for r in table[1:]}
    assert console.problems() == []
