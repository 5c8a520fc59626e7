"""Rendering on its own: the same snapshot gives the same bytes (so a copy can be proven and a
second process rendering the same document changes nothing); a missing font leaves the document
pending with the reason, and it is issued once the font is there; capital amounts."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from rectify.documents import service as documents
from rectify.documents.models import Document
from rectify.documents.render import Renderer, RenderError
from rectify.documents.snapshot import _penalty, yuan_upper
from tests.documents.helpers import Officers, listed, render, text_of
from tests.support import World


def _row(world: World, document_id: int) -> Document:
    with world.ctx.db.session() as session:
        return session.exec(select(Document).where(Document.id == document_id)).scalars().one()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_same_snapshot_same_bytes(world: World, officers: Officers) -> None:
    hid = world.report()["id"]
    world.fire(hid, "dispatcher", "assign", assignee="王工", officers=officers.ids())
    render(world)
    row = _row(world, listed(world, hid)[0]["id"])
    assert world.ctx.documents is not None
    kind = world.ctx.documents.kinds[row.kind]
    again = Renderer(world.ctx.documents).render(  # a fresh compiler, as another process has
        template=kind.template, snapshot=json.loads(row.snapshot), at=row.issued_at
    )
    stored = documents.store(world.ctx).path(row.sha256).read_bytes()
    assert again == stored
    snapshot = json.loads(row.snapshot)
    assert snapshot["number"] == row.number and snapshot["enterprise"]["name"] == "测试企业1"
    # The snapshot's text is data, never markup: Typst syntax in a title prints as typed.
    hid = world.report(title="#set text(red) *粗体* [链接](x) $x$ <a> @b")["id"]
    world.fire(hid, "dispatcher", "assign", assignee="王工", officers=officers.ids())
    render(world)
    pdf = documents.store(world.ctx).path(listed(world, hid)[0]["sha256"]).read_bytes()
    assert "#settext(red)*粗体*[链接](x)$x$<a>@b" in text_of(pdf)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_issued_at_a_time_with_microseconds(world: World, officers: Officers) -> None:
    # Server time has microseconds; Typst's timestamp refused them and the document stayed
    # pending (the test clock had none).
    world.clock.advance(microseconds=123456)
    hid = world.report()["id"]
    world.fire(hid, "dispatcher", "assign", assignee="王工", officers=officers.ids())
    assert render(world) == 1


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_missing_font_leaves_it_pending_then_issued(world: World, officers: Officers) -> None:
    config = world.ctx.documents
    assert config is not None
    broken = config.model_copy(
        update={"render": config.render.model_copy(update={"body_font": "No Such Font SC"})}
    )
    world.ctx.documents = broken
    hid = world.report()["id"]
    world.fire(hid, "dispatcher", "assign", assignee="王工", officers=officers.ids())
    assert render(world) == 0
    [doc] = listed(world, hid)
    assert doc["status"] == "pending"
    row = _row(world, doc["id"])
    assert row.attempts == 1 and "No Such Font SC" in (row.last_error or "")
    assert row.next_attempt_at is not None and row.next_attempt_at > world.clock.now
    with pytest.raises(RenderError, match="fonts-noto-cjk"):
        Renderer(broken).render(template="rectification_order.typ", snapshot={}, at=world.clock.now)
    world.ctx.documents = config  # the font is installed (or the setting fixed)
    assert render(world) == 0  # not before its next attempt
    world.clock.advance(seconds=3)
    assert render(world) == 1
    assert listed(world, hid)[0]["status"] == "issued"


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        (20000, "贰万元整"),
        (50000.5, "伍万元伍角整"),
        (100_005, "壹拾万零伍元整"),
        (1_000_000, "壹佰万元整"),
        (3010.07, "叁仟零壹拾元零柒分"),
        (0.3, "叁角整"),
        (0, "零元整"),
        (123_456_789_012, "壹仟贰佰叁拾肆亿伍仟陆佰柒拾捌万玖仟零壹拾贰元整"),
        (1_0000_0000_0001, "壹万亿零壹元整"),
    ],
)
def test_capital_amounts(amount: float, words: str) -> None:
    assert yuan_upper(amount) == words


def test_any_amount_the_api_takes_can_be_printed() -> None:
    # A penalty of 1.2345678901234567e16 (a valid JSON double) once failed the step with a 500.
    for amount in (1.2345678901234567e16, 1e300, 5e-324):
        assert _penalty("fine", amount).startswith("罚款人民币")
