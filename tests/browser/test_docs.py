"""/docs renders in a real browser with no network but loopback: Swagger UI comes from rectify's
own static files, starts without an inline script and breaks no rule of the page's CSP."""

from __future__ import annotations

from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from tests.browser.conftest import Console, open_page, wait_for_text
from tests.processes import Server


def operations(driver: WebDriver) -> list[str]:
    """The paths Swagger UI lists, as the page shows them."""
    return driver.execute_script(
        "return [...document.querySelectorAll('.opblock-summary-path')].map(e => e.innerText)"
    )


def test_docs_lists_the_api_offline_without_a_csp_violation(
    desktop: WebDriver, server: Server, console: Console, shot
) -> None:
    open_page(desktop, f"{server.url}/docs")
    wait_for_text(desktop, "/api/v1/hazards/{hazard_id}/transitions")
    paths = operations(desktop)
    assert "/api/v1/hazards" in paths and "/api/v1/enterprises" in paths, paths
    title = desktop.execute_script("return document.querySelector('.swagger-ui .info .title')")
    assert title is not None and title.text.startswith("rectify"), title
    # Opening an operation renders its parameters (React, syntax highlighting: all under the CSP).
    desktop.find_element(
        By.CSS_SELECTOR, "#operations-hazards-list_hazards_api_v1_hazards_get"
    ).click()
    wait_for_text(desktop, "Try it out")
    shot("docs-1440")
    assert console.problems() == []


def test_docs_fits_a_phone(phone: WebDriver, server: Server, console: Console, shot) -> None:
    open_page(phone, f"{server.url}/docs")
    wait_for_text(phone, "/api/v1/hazards")
    assert phone.execute_script("return window.innerWidth") == 375
    # Nothing wider than the screen: no sideways scrolling of the whole page.
    assert phone.execute_script("return document.documentElement.scrollWidth") <= 375
    shot("docs-375")
    assert console.problems() == []


def test_redoc_leads_to_docs(desktop: WebDriver, server: Server, console: Console) -> None:
    open_page(desktop, f"{server.url}/redoc")
    wait_for_text(desktop, "/api/v1/hazards")
    assert desktop.current_url == f"{server.url}/docs"
    assert console.problems() == []
