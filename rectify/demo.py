"""A small demo for a newcomer: one district (武汉市江岸区), four enterprises, hazards in every
kind of state, and one token per role. Everything goes through the service functions."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import timedelta

from sqlmodel import func, select

from rectify.auth import service as auth
from rectify.auth.scope import Caller
from rectify.context import Context
from rectify.documents.config import OFFICER_TRIGGERS
from rectify.enterprises import service as enterprises
from rectify.enterprises.codes import credit_code_check_char
from rectify.enterprises.models import Enterprise, EnterpriseCreate
from rectify.evidence import service as evidence
from rectify.hazards import service as hazards
from rectify.hazards.models import HazardCreate

DISTRICT = "420102"  # 湖北省武汉市江岸区


def tiny_png(seed: int = 0) -> bytes:
    """A valid 1x1 PNG; the seed changes the pixel so that each file has its own hash."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"\x00" + bytes([seed % 256, (seed // 256) % 256, 7])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _credit_code(serial: int) -> str:
    first17 = f"91{DISTRICT}MA4K{serial:05d}"
    return first17 + credit_code_check_char(first17)


ENTERPRISES = [
    ("武汉江岸化工有限公司", "危险化学品"),
    ("江岸建设工程有限公司", "建筑施工"),
    ("江岸城市燃气有限公司", "城镇燃气"),
    ("江岸商贸广场有限公司", "商贸"),
]


def load_demo_if_empty(ctx: Context) -> None:
    """Load the demo into an empty database and print one token per role."""
    with ctx.db.session() as session:
        if session.exec(select(func.count()).select_from(Enterprise)).one():
            return
    tokens = _principals_and_data(ctx)
    # Plain lines, never wrapped or cut: a token must be copyable whole.
    print("rectify demo loaded: 武汉市江岸区 (420102). One bearer token per role:", flush=True)
    for role, name, token in tokens:
        print(f"  {role:<11} {name:<10} {token}", flush=True)


def _principals_and_data(ctx: Context) -> list[tuple[str, str, str]]:
    admin = Caller(role="admin", name="demo")
    with ctx.db.write() as session:
        firms = [
            enterprises.create(
                session=session,
                caller=admin,
                data=EnterpriseCreate(
                    name=n, credit_code=_credit_code(i + 1), industry=ind, region_code=DISTRICT
                ),
            )
            for i, (n, ind) in enumerate(ENTERPRISES)
        ]
        made = [
            auth.create_token(
                session=session, role="dispatcher", name="江岸区应急管理局", region_code=DISTRICT
            ),
            auth.create_token(
                session=session,
                role="inspector",
                name="执法员张伟",
                region_code=DISTRICT,
                certificate_no="42010219001",
            ),
            auth.create_token(
                session=session, role="enterprise", name="化工公司安全部", enterprise_id=firms[0].id
            ),
            auth.create_token(
                session=session, role="auditor", name="市纪委监委", region_code="420100"
            ),
            auth.create_token(session=session, role="admin", name="运维"),
        ]
        # The second officer who signs the demo's 执法文书 (no token printed for them).
        partner, _ = auth.create_token(
            session=session,
            role="inspector",
            name="执法员刘洋",
            region_code=DISTRICT,
            certificate_no="42010219002",
        )
    callers = {}
    with ctx.db.session() as session:
        for principal, token in made:
            callers.setdefault(principal.role, auth.authenticate(session=session, token=token))
    officers = [p.id for p, _ in made if p.role == "inspector"] + [partner.id]  # they sign
    _hazards(ctx, callers, [f.id for f in firms], officers)
    return [(p.role, p.name, t) for p, t in made]


def _hazards(ctx: Context, who: dict[str, Caller], firms: list[int], officers: list) -> None:
    d, i = who["dispatcher"], who["inspector"]
    e = Caller(role="enterprise", name="demo", region_code=DISTRICT)  # acts for each firm
    soon = ctx.now() + timedelta(days=20)

    def new(firm: int, title: str, grade: str = "general", **kw: object) -> int:
        data = HazardCreate(
            enterprise_id=firm,
            title=title,
            grade=grade,
            industry="demo",
            source=kw.pop("source", "inspection"),
            location=kw.pop("loc", ""),
            violation=bool(kw.pop("violation", False)),
        )
        return hazards.report(ctx=ctx, caller=i, data=data)["id"]

    def go(hid: int, caller: Caller, trigger: str, **payload: object) -> None:
        firm_caller = caller
        if caller is e:
            with ctx.db.engine.connect() as connection:
                h = hazards.get(connection=connection, caller=d, hazard_id=hid)
            firm_caller = Caller(
                role="enterprise", name="安全负责人", enterprise_id=h.enterprise_id
            )
        if trigger in OFFICER_TRIGGERS:  # the two officers who sign its 执法文书
            payload.setdefault("officers", officers)
        hazards.transition(
            ctx=ctx, caller=firm_caller, hazard_id=hid, trigger=trigger, payload=payload
        )

    def upload(hid: int, seed: int) -> str:
        row = evidence.upload(
            ctx=ctx,
            caller=i,
            hazard_id=hid,
            stream=io.BytesIO(tiny_png(seed)),
            filename=f"现场照片{seed}.png",
        )
        return row["sha256"]

    general_plan = {
        "measures": "清理通道，设置禁止堆放标识",
        "responsible_person": "李强",
        "deadline": soon.isoformat(),
    }
    major_plan = {
        "goals": "恢复储罐区可燃气体检测报警",
        "measures": "更换探头并联动切断阀",
        "funds_yuan": 180000,
        "responsible_person": "王敏",
        "deadline": soon.isoformat(),
        "contingency_plan": "储罐区停止装卸作业，设置警戒区，专人巡检",
    }
    new(firms[3], "商场疏散通道堵塞", loc="一层东侧", source="public_report")
    h = new(firms[3], "灭火器过期未检")
    go(h, d, "assign", assignee="商场安全主管")
    h = new(firms[1], "脚手架连墙件缺失", loc="3号楼")
    go(h, d, "assign", assignee="项目安全员")
    go(h, e, "accept", plan=general_plan)
    go(h, e, "report_progress", note="已完成1-10层连墙件补设", percent=60)
    h = new(firms[1], "临时用电未设漏电保护", loc="工地配电箱")
    go(h, d, "assign", assignee="项目电工")
    go(h, e, "accept", plan=general_plan)
    go(h, e, "confirm_rectified", summary="已加装漏电保护器", evidence=[upload(h, 1)])
    h = new(firms[2], "调压箱锈蚀", violation=True)
    go(h, d, "assign", assignee="管网所")
    go(h, e, "accept", plan=general_plan)
    go(h, e, "confirm_rectified", summary="已更换调压箱", evidence=[upload(h, 2)])
    go(h, i, "verify_pass", note="现场复查合格")
    go(
        h,
        i,
        "record_penalty",
        decision_no="鄂汉岸应急罚〔2026〕12号",
        kind="fine",
        amount_yuan=20000,
        legal_basis="安全生产法第一百零二条",
    )
    go(h, d, "close", note="销号")
    h = new(firms[0], "储罐区可燃气体报警器失效", "major", loc="罐区B")
    go(h, d, "assign", assignee="设备部")
    go(h, e, "accept", plan=major_plan)
    go(h, d, "list_for_supervision", level="county", document_no="岸安委办督〔2026〕3号")
    h = new(firms[0], "重大危险源未设置紧急切断装置", "major", loc="装置区", violation=True)
    go(h, d, "assign", assignee="生产部")
    go(h, e, "accept", plan=major_plan)
    go(h, d, "list_for_supervision", level="county", document_no="岸安委办督〔2026〕4号")
    go(
        h,
        d,
        "order_suspension",
        order_no="岸应急停〔2026〕2号",
        reason="重大事故隐患，无法保证安全",
    )
    h = new(firms[0], "擅自恢复生产并关闭报警联锁", "major", violation=True)
    go(h, d, "assign", assignee="总经理")
    go(h, d, "list_for_supervision", level="county", document_no="岸安委办督〔2026〕5号")
    go(h, d, "order_suspension", order_no="岸应急停〔2026〕3号", reason="拒不执行整改指令")
    go(
        h,
        d,
        "transfer_to_judicial",
        receiving_organ="武汉市公安局江岸区分局",
        case_summary="涉嫌危险作业罪（刑法第一百三十四条之一）",
        officers=["张伟", "刘洋"],
        attachments=[upload(h, 3)],
    )
    h = new(firms[3], "重复举报：通道堵塞", source="public_report")
    go(h, d, "dismiss", reason="与已登记隐患重复")
