"""The statistics page in a real browser (issue 12): ECharts draws the bars and the monthly
trend as SVG under the strict Content-Security-Policy, the chart's numbers and the table's are
the API's, and the page fits 1440 and 375 px."""

from __future__ import annotations

from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.audit_support import District, district, fits, sign_in
from tests.browser.conftest import WAIT, Console, open_page, sized

__all__ = ["district"]

FIELDS = ("reported", "open", "closed", "dismissed", "overdue", "closed_on_time", "closed_late")


def test_the_statistics_page_draws_the_apis_numbers(
    browser: WebDriver, district: District, console: Console, shot
) -> None:
    district.report("A", title="配电箱无防护")
    major = district.report("B", grade="major", title="储罐区未设防火堤")
    district.fire(major, "assign", assignee="陈工")
    api = district.api("GET", "/statistics", who="auditor", params={"group_by": "region"})
    assert api["groups"], api
    sign_in(browser, district, "auditor")
    for name, (width, height, mobile) in {
        "desktop": (1440, 900, False),
        "phone": (375, 812, True),
    }.items():
        sized(browser, width, height, mobile=mobile)
        open_page(browser, f"{district.server.url}/console/statistics")
        WebDriverWait(browser, WAIT).until(
            lambda d: (
                d.find_elements(By.CSS_SELECTOR, "#chart-groups svg")
                and d.find_elements(By.CSS_SELECTOR, "#chart-trend svg")
            )
        )
        # the chart's bars hold the API's numbers
        drawn = browser.execute_script(
            """
            const chart = echarts.getInstanceByDom(document.getElementById("chart-groups"));
            return chart.getOption().series.map((s) => s.data);
            """
        )
        assert drawn == [[g[f] for g in api["groups"]] for f in ("reported", "closed", "overdue")]
        # and so does the table, group by group
        for group in api["groups"]:
            row = browser.find_element(
                By.CSS_SELECTOR, f'#stats-table tr[data-key="{group["key"]}"]'
            )
            for field in FIELDS:
                cell = row.find_element(By.CSS_SELECTOR, f'td[data-field="{field}"]')
                assert cell.get_attribute("textContent").strip() == str(group[field]), field
        assert "统计分析" in browser.find_element(By.CSS_SELECTOR, "nav.nav").text
        assert fits(browser), f"the statistics page is wider than {width} px"
        shot(f"statistics-{name}", full_page=True)
    sized(browser, 1440, 900, mobile=False)
    assert console.problems() == []
