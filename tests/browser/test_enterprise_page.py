"""The enterprise page in a real browser (issue 10): its hazards linked to their pages, its
penalties and the art. 113 flag, at 1440 and 375 px; enterprise B opening A's page gets the 404
page."""

from __future__ import annotations

from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from tests.browser.audit_support import District, district, fits, sign_in
from tests.browser.conftest import Console, open_page, sized

__all__ = ["district"]


def text(driver: WebDriver) -> str:
    return driver.execute_script("return document.body.innerText")


def test_the_enterprise_page_shows_its_hazards_and_the_article_113_flag(
    browser: WebDriver, district: District, console: Console, shot
) -> None:
    major = district.report("A", grade="major", title="液氨储罐区无泄漏报警装置")
    district.fire(major, "assign", assignee="陈工")
    minor = district.report("A", title="<b>车间</b>通道堆放杂物")
    for n in (1, 2, 3):  # three penalties within 180 days, an open major hazard: art. 113
        district.penalise(major, n)
    sign_in(browser, district, "dispatcher")
    url = f"{district.server.url}/console/enterprises/{district.firms['A']}"
    for name, (width, height, mobile) in {
        "desktop": (1440, 900, False),
        "phone": (375, 812, True),
    }.items():
        sized(browser, width, height, mobile=mobile)
        open_page(browser, url)
        page = text(browser)
        assert "已提请关闭" in page and "安全生产法第一百一十三条" in page
        assert "西湖应急罚〔2026〕3号" in page and "<b>车间</b>通道堆放杂物" in page
        for hid in (major, minor):
            link = browser.find_element(By.CSS_SELECTOR, f'td a[href="/console/hazards/{hid}"]')
            assert link.is_displayed()
        assert fits(browser), f"the enterprise page is wider than {width} px"
        shot(f"enterprise-{name}", full_page=True)
        shot(f"enterprise-{name}-top")
    sized(browser, 1440, 900, mobile=False)
    assert console.problems() == []


def test_enterprise_b_opening_as_enterprise_page_gets_404(
    desktop: WebDriver, district: District, console: Console
) -> None:
    sign_in(desktop, district, "firm_b")
    base = district.server.url
    open_page(desktop, f"{base}/console/enterprises/{district.firms['B']}")
    assert "西湖B化工有限公司" in text(desktop)  # its own page opens
    open_page(desktop, f"{base}/console/enterprises/{district.firms['A']}")
    page = text(desktop)
    assert "页面不存在" in page and "不存在，或不在您的职责范围内" in page
    assert "西湖A化工有限公司" not in page
    status = desktop.execute_script(
        "return performance.getEntriesByType('navigation')[0].responseStatus"
    )
    assert status == 404
    # The browser reports the 404 itself; nothing else (no CSP violation, no script error).
    assert [p for p in console.problems() if "status of 404 (Not Found)" not in p] == []
