"""The hazard page in a real browser (issue 10): the whole main track and the three branches
driven only through the page's forms, each person signing in for their own steps; evidence
uploaded from the file input with its progress bar; a 422 shown beside its field; a 执法文书
downloaded as a PDF; enterprise B gets 404 on A's hazard; the page at 375 px; no console error
and no CSP violation anywhere."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from rectify.auth import people as accounts
from rectify.config import Settings
from rectify.context import build_context
from rectify.timers.policy import CHINA_TZ
from tests.browser.audit_support import DISTRICT, PASSWORD, District, district, fits, sign_in
from tests.browser.conftest import WAIT, Console, open_page, wait_for_text
from tests.support import png

__all__ = ["district"]


@pytest.fixture(scope="module")
def inspector(district: District, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An inspector of the district who signs in (the shared district has none)."""
    settings = Settings(
        database_url=district.server.env["RECTIFY_DATABASE_URL"],
        data_dir=tmp_path_factory.mktemp("inspector"),
        scheduler=False,
        demo=False,
        argon2_memory_kib=1024,
        argon2_time_cost=1,
    )
    ctx = build_context(settings)
    try:
        with ctx.db.write() as session:
            username = f"inspector.{district.suffix}"
            accounts.create_user(
                session=session,
                settings=settings,
                role="inspector",
                username=username,
                display_name="何执法",
                password=PASSWORD,
                region_code=DISTRICT,
                now=ctx.now(),
            )
    finally:
        ctx.db.dispose()
    district.usernames["inspector"] = username
    return username


def text(driver: WebDriver) -> str:
    return driver.execute_script("return document.body.innerText")


def china(moment: datetime) -> str:
    """What a person types into a datetime-local field: China time."""
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%dT%H:%M")


def hazard(driver: WebDriver, district: District, hid: int) -> None:
    open_page(driver, f"{district.server.url}/console/hazards/{hid}")


def form(driver: WebDriver, trigger: str) -> WebElement:
    return driver.find_element(By.ID, f"form-{trigger}")


def fill(driver: WebDriver, trigger: str, **values: str) -> WebElement:
    """Type into a trigger's form by payload field name (`plan__measures` for plan.measures)."""
    f = form(driver, trigger)
    for key, value in values.items():
        name = key.replace("__", ".")
        element = f.find_element(By.NAME, name)
        kind = element.get_attribute("type")
        if element.tag_name == "select":
            Select(element).select_by_value(value)
        elif kind in ("datetime-local", "date"):
            driver.execute_script("arguments[0].value = arguments[1]", element, value)
        else:
            element.clear()
            element.send_keys(value)
    return f


def press(driver: WebDriver, trigger: str, label: str) -> None:
    """Press the form's button, found by the trigger's Chinese label, and wait for the page."""
    button = form(driver, trigger).find_element(By.XPATH, f".//button[normalize-space()='{label}']")
    old = driver.find_element(By.TAG_NAME, "html")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    WebDriverWait(driver, WAIT).until(lambda d: _stale(old))
    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def _stale(element: WebElement) -> bool:
    try:
        element.tag_name  # noqa: B018
        return False
    except Exception:  # noqa: BLE001  (StaleElementReferenceException: a new page)
        return True


def branch(driver: WebDriver, field: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f'.track[data-field="{field}"] .track-now').text


def upload(driver: WebDriver, files: list[Path], stage: str) -> None:
    f = driver.find_element(By.ID, "upload-form")
    f.find_element(By.CSS_SELECTOR, f'input[name="stage"][value="{stage}"]').click()
    f.find_element(By.NAME, "file").send_keys("\n".join(str(p) for p in files))
    f.find_element(By.XPATH, ".//button[normalize-space()='上传']").click()
    wait_for_text(driver, f"已上传 {len(files)} 个文件")  # the script's, then the page's notice
    WebDriverWait(driver, WAIT).until(
        lambda d: (
            "uploaded=" in d.current_url
            and d.execute_script("return document.readyState") == "complete"
            and d.find_elements(By.CSS_SELECTOR, "p.alert-ok")
        )
    )


def transfer(driver: WebDriver, folder: Path, seed: int) -> None:
    """移交司法 through its form: a photo uploaded as the attachment, two officers named."""
    upload(driver, photos(folder, seed), "before")
    f = fill(
        driver,
        "transfer_to_judicial",
        receiving_organ="杭州市公安局西湖区分局",
        case_summary="涉嫌重大责任事故罪",
    )
    names = f.find_elements(By.CSS_SELECTOR, 'input[name="officers"]')
    names[0].send_keys("吴督办")
    names[1].send_keys("陈执法")
    f.find_element(By.CSS_SELECTOR, 'input[name="attachments"]').click()
    press(driver, "transfer_to_judicial", "移交司法机关")


def photos(folder: Path, *seeds: int) -> list[Path]:
    out = []
    for seed in seeds:
        path = folder / f"现场照片{seed}.png"
        path.write_bytes(png(seed))
        out.append(path)
    return out


def test_the_main_track_through_the_forms_with_an_upload_and_a_422(
    desktop: WebDriver, district: District, inspector: str, console: Console, shot, tmp_path: Path
) -> None:
    hid = district.report("A", title="<script>alert(1)</script>配电柜未接地")
    now = datetime.now(CHINA_TZ)

    sign_in(desktop, district, "dispatcher")
    hazard(desktop, district, hid)
    assert "<script>alert(1)</script>配电柜未接地" in desktop.find_element(By.TAG_NAME, "h1").text
    WebDriverWait(desktop, WAIT).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#diagram-view svg"), "no diagram drawn"
    )
    fill(desktop, "assign", assignee="陈工", deadline=china(now + timedelta(days=20)))
    press(desktop, "assign", "交办")
    assert desktop.find_element(By.ID, "main-state").text == "已交办"

    sign_in(desktop, district, "firm_a")
    hazard(desktop, district, hid)
    plan = {
        "plan__measures": "重新敷设接地线\n测试接地电阻",
        "plan__responsible_person": "设备科 张伟",
        "plan__deadline": china(now - timedelta(days=1)),  # yesterday: refused
    }
    fill(desktop, "accept", **plan)
    press(desktop, "accept", "接收并提交治理方案")
    error = desktop.find_element(By.ID, "accept-plan-deadline-error")
    assert error.text == "必须晚于现在。" and error.is_displayed()
    field = desktop.find_element(By.ID, "accept-plan-deadline")
    assert field.get_attribute("aria-invalid") == "true"
    kept = desktop.find_element(By.ID, "accept-plan-measures").get_attribute("value")
    assert kept == "重新敷设接地线\n测试接地电阻"  # what was typed is kept
    assert desktop.find_element(By.ID, "main-state").text == "已交办"  # nothing applied
    shot("hazard-422-desktop", full_page=True)
    # The refusal is a real 422 (the browser logs the status), and nothing else went wrong.
    (refused,) = console.problems()
    assert "/triggers/accept" in refused and "422" in refused
    fill(desktop, "accept", plan__deadline=china(now + timedelta(days=10)))
    press(desktop, "accept", "接收并提交治理方案")
    assert desktop.find_element(By.ID, "main-state").text == "整改中"

    upload(desktop, photos(tmp_path, 11, 12), "after")  # two files, one request each
    assert len(desktop.find_elements(By.CSS_SELECTOR, ".thumb img")) == 2
    assert "整改后" in desktop.find_element(By.ID, "evidence").text
    f = fill(desktop, "confirm_rectified", summary="接地线已重新敷设，电阻 2.1Ω")
    for box in f.find_elements(By.CSS_SELECTOR, 'input[name="evidence"]'):
        box.click()
    press(desktop, "confirm_rectified", "确认整改完成")
    assert desktop.find_element(By.ID, "main-state").text == "待验收"

    sign_in(desktop, district, "inspector")
    hazard(desktop, district, hid)
    fill(desktop, "verify_pass", note="现场复查合格")
    press(desktop, "verify_pass", "验收通过")
    assert desktop.find_element(By.ID, "main-state").text == "已验收"

    sign_in(desktop, district, "dispatcher")
    hazard(desktop, district, hid)
    fill(desktop, "close", note="整改到位，予以销号")
    press(desktop, "close", "销号")
    assert desktop.find_element(By.ID, "main-state").text == "已销号"
    history = desktop.find_element(By.ID, "history").text
    for label in ("交办", "接收并提交治理方案", "上传证据材料", "确认整改完成", "验收通过", "销号"):
        assert label in history
    assert "何执法（执法人员）" in history and "郑安全员（企业用户）" in history
    shot("hazard-closed-desktop", full_page=True)
    assert console.problems() == []


def _downloaded(folder: Path) -> Path:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        done = [p for p in folder.glob("*.pdf")]
        if done and not list(folder.glob("*.crdownload")):
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"nothing downloaded into {folder}: {list(folder.iterdir())}")


def test_the_three_branches_through_the_forms_and_a_document_downloaded(
    desktop: WebDriver, district: District, console: Console, shot, tmp_path: Path
) -> None:
    hid = district.report("A", grade="major", title="液氯钢瓶库无泄漏报警")
    now = datetime.now(CHINA_TZ)
    sign_in(desktop, district, "dispatcher")
    hazard(desktop, district, hid)
    fill(desktop, "assign", assignee="刘工")
    press(desktop, "assign", "交办")

    # 挂牌督办
    fill(desktop, "list_for_supervision", level="county", document_no="西湖安委办督〔2026〕7号")
    press(desktop, "list_for_supervision", "挂牌督办")
    assert branch(desktop, "supervision") == "挂牌督办"
    # 停产整顿, then closure asked for and refused by the government (v2)
    fill(
        desktop,
        "order_suspension",
        order_no="西湖应急停〔2026〕3号",
        reason="无泄漏报警，不具备安全生产条件",
    )
    press(desktop, "order_suspension", "责令停产整顿")
    assert branch(desktop, "production") == "停产整顿"
    fill(desktop, "order_closure", decision_no="西湖应急提〔2026〕1号", reason="逾期未整改")
    press(desktop, "order_closure", "提请关闭取缔")
    assert branch(desktop, "production") == "已提请关闭"
    fill(
        desktop,
        "decide_closure",
        decision="rejected",
        decided_on=now.date().isoformat(),
        decision_no="西湖政〔2026〕12号",
        deciding_body="杭州市西湖区人民政府",
    )
    press(desktop, "decide_closure", "登记关闭决定")
    assert branch(desktop, "production") == "停产整顿"
    # 移交司法, with an uploaded attachment, then the police file the case
    transfer(desktop, tmp_path, seed=21)
    assert branch(desktop, "judicial") == "已移交司法"
    fill(desktop, "record_judicial_decision", decision="filed", case_no="西公立〔2026〕88号")
    press(desktop, "record_judicial_decision", "登记立案决定")
    assert branch(desktop, "judicial") == "已立案"

    # The listing's 挂牌督办通知书: rendered by the server's renderer, then downloaded.
    deadline = time.monotonic() + WAIT
    while "已生成" not in desktop.find_element(By.ID, "documents").text:
        assert time.monotonic() < deadline, "the documents were never rendered"
        time.sleep(0.5)
        hazard(desktop, district, hid)
    docs = desktop.find_element(By.ID, "documents").text
    assert "挂牌督办通知书" in docs and "文号" in docs
    desktop.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)}
    )
    link = desktop.find_element(By.CSS_SELECTOR, "#documents a[download]")
    link.click()
    pdf = _downloaded(tmp_path)
    assert pdf.read_bytes().startswith(b"%PDF")
    shot("hazard-branches-desktop", full_page=True)
    assert console.problems() == []


def test_enterprise_b_gets_404_and_the_page_fits_a_phone(
    phone: WebDriver, district: District, console: Console, shot
) -> None:
    hid = district.report("A", title="消防水泵接合器损坏")
    district.fire(hid, "assign", assignee="陈工")
    sign_in(phone, district, "firm_b")
    hazard(phone, district, hid)
    assert "页面不存在" in text(phone) and "消防水泵接合器损坏" not in text(phone)
    (missing,) = console.problems()  # the browser logs the 404 itself
    assert f"/console/hazards/{hid}" in missing and "404" in missing

    sign_in(phone, district, "firm_a")
    hazard(phone, district, hid)
    assert phone.find_element(By.ID, "main-state").text == "已交办"
    upload_input = phone.find_element(By.CSS_SELECTOR, '#upload-form input[type="file"]')
    assert upload_input.get_attribute("capture") == "environment"
    assert upload_input.get_attribute("accept") == "image/*,application/pdf"
    assert not phone.find_element(By.ID, "upload-progress").is_displayed()  # until uploading
    assert fits(phone), "the hazard page is wider than 375 px"
    shot("hazard-phone", full_page=True)
    assert console.problems() == []
