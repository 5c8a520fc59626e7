"""Repeat hazards (重复隐患): a hazard like one its enterprise closed within the window is linked
(`recurrence_of`) and says so in its history; a dismissal as duplicate names the original."""

from __future__ import annotations

from tests.support import World


def closed_one(world: World, **report: str) -> int:
    return world.to("closed", **report)


def test_same_place_after_closing_is_a_repeat_and_the_history_says_so(world: World) -> None:
    first = closed_one(world, title="配电箱无防护", location="二层 配电室")
    again = world.report(title="电缆沟积水", location="二层配电室。")  # same place, normalised
    assert again["recurrence_of"] == first
    assert world.get(again["id"])["recurrence_of"] == first
    report = world.history(again["id"])[0]
    assert report["payload"]["recurrence_of"] == first
    r = world.client.get(f"/api/v1/hazards/{again['id']}/replay", headers=world.h("auditor"))
    assert r.status_code == 200 and r.json()["consistent"] is True, r.text


def test_similar_title_links_a_different_title_does_not(world: World) -> None:
    first = closed_one(world, title="消防通道被杂物堵塞", location="仓库")
    similar = world.report(title="消防通道被杂物堵塞！", location="办公楼")
    other = world.report(title="灭火器压力不足", location="办公楼二层")
    assert similar["recurrence_of"] == first
    assert other["recurrence_of"] is None


def test_open_hazards_other_enterprises_and_old_closings_are_not_repeats(world: World) -> None:
    world.report(title="配电箱无防护", location="二层配电室")  # open, not closed
    assert world.report(title="配电箱无防护", location="二层配电室")["recurrence_of"] is None
    closed_one(world, title="吊装区无警戒", location="吊装区")
    elsewhere = world.report(
        "inspector_elsewhere",
        enterprise_id=world.other_firm,
        title="吊装区无警戒",
        location="吊装区",
    )
    assert elsewhere["recurrence_of"] is None
    world.clock.advance(days=world.ctx.settings.recurrence_window_days + 1)
    assert world.report(title="吊装区无警戒", location="吊装区")["recurrence_of"] is None


def test_dismissed_as_duplicate_names_and_links_the_original(world: World) -> None:
    original = world.report(title="脚手架松动", location="东区")["id"]
    dup = world.report(title="外架连墙件缺失", location="东区外架")["id"]
    elsewhere = world.report("inspector_elsewhere", enterprise_id=world.other_firm)["id"]
    for bad in (dup, elsewhere, 10**9, "1"):
        r = world.client.post(
            f"/api/v1/hazards/{dup}/transitions",
            json={"trigger": "dismiss", "payload": {"reason": "重复", "duplicate_of": bad}},
            headers=world.h("dispatcher"),
        )
        assert r.status_code == 422, (bad, r.text)
        assert [e["field"] for e in r.json()["errors"]] == ["payload.duplicate_of"], bad
    assert world.get(dup)["state"] == "reported"  # refused: nothing changed
    body = world.fire(dup, "dispatcher", "dismiss", reason="重复登记", duplicate_of=original)
    assert (body["state"], body["recurrence_of"]) == ("dismissed", original)
    assert world.history(dup)[-1]["payload"]["duplicate_of"] == original
    # a plain dismissal still needs no original
    plain = world.report(title="误报", location="无")["id"]
    assert world.fire(plain, "dispatcher", "dismiss", reason="误报")["recurrence_of"] is None
