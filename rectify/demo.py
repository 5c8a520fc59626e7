"""A small demo for a newcomer: one district (武汉市江岸区), four enterprises, hazards in every
kind of state, one token per role and one person per role (who signs in to the console with the
printed password). Everything goes through the service functions; the hazards that should
already be overdue, due soon or waiting too long for verification are written by the same
services under a clock set back (the events carry those past instants), so the dispatcher's
worklists are full from the first minute."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import replace
from datetime import timedelta

from sqlmodel import func, select

from rectify.auth import people
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
PASSWORD = "rectify-demo-2026"  # the demo people's password (a demo: printed on purpose)
# username: (role, display name, scope); the enterprise person works for the first firm.
PEOPLE = {
    "dispatcher": ("dispatcher", "王督办（江岸区应急管理局）", {"region_code": DISTRICT}),
    "inspector": ("inspector", "张伟（执法员）", {"region_code": DISTRICT}),
    "enterprise": ("enterprise", "赵安全（化工公司安全部）", {"enterprise_id": 0}),
    "auditor": ("auditor", "钱审计（市纪委监委）", {"region_code": "420100"}),
    "admin": ("admin", "孙运维", {}),
}


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
    print(f"Sign in at /console/login as one person per role, password {PASSWORD}:", flush=True)
    for username, (role, name, _) in PEOPLE.items():
        print(f"  {role:<11} username {username:<11} password {PASSWORD}  {name}", flush=True)


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
    with ctx.db.write() as session:
        for username, (role, name, scope) in PEOPLE.items():
            if "enterprise_id" in scope:
                scope = {"enterprise_id": firms[0].id}
            people.create_user(
                session=session,
                settings=ctx.settings,
                role=role,
                username=username,
                display_name=name,
                password=PASSWORD,
                now=ctx.now(),
                **scope,  # type: ignore[arg-type]
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

    def new(firm: int, title: str, grade: str = "general", c: Context = ctx, **kw: object) -> int:
        data = HazardCreate(
            enterprise_id=firm,
            title=title,
            grade=grade,
            industry="demo",
            source=kw.pop("source", "inspection"),
            location=kw.pop("loc", ""),
            violation=bool(kw.pop("violation", False)),
        )
        return hazards.report(ctx=c, caller=i, data=data)["id"]

    def go(hid: int, caller: Caller, trigger: str, c: Context = ctx, **payload: object) -> None:
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
            ctx=c, caller=firm_caller, hazard_id=hid, trigger=trigger, payload=payload
        )

    def upload(hid: int, seed: int, c: Context = ctx) -> str:
        row = evidence.upload(
            ctx=c,
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
    # For the worklists, under a clock set back some days (the events carry those instants):
    # overdue (one of them listed), due within three days, waiting for verification too long,
    # an extension request waiting for its decision.
    now = ctx.now()

    def back(days: float) -> Context:
        return replace(ctx, clock=lambda: now - timedelta(days=days))

    def plan(template: dict, due_days_ago: float) -> dict:
        return template | {"deadline": (now - timedelta(days=due_days_ago)).isoformat()}

    # 逾期: assigned 20 days ago, the policy's 7 days long gone, no plan yet.
    h = new(firms[1], "配电箱未做保护接地", loc="2号楼配电间", c=back(20))
    go(h, d, "assign", assignee="项目电工", c=back(20))
    # 逾期且挂牌督办: a major hazard whose plan's deadline passed 5 days ago.
    h = new(firms[0], "液氨储罐安全阀超期未校验", "major", loc="液氨罐区", c=back(45))
    go(h, d, "assign", assignee="设备部", c=back(45))
    go(h, e, "accept", plan=plan(major_plan, 5), c=back(44))
    listing = {"level": "county", "document_no": "岸安委办督〔2026〕6号"}
    go(h, d, "list_for_supervision", c=back(40), **listing)
    # 即将到期: assigned 5 days ago, due in 2.
    h = new(firms[3], "叉车作业区未设隔离护栏", loc="卸货平台", c=back(5))
    go(h, d, "assign", assignee="物业安全主管", c=back(5))
    # 待验收超时: the enterprise confirmed 12 days ago; nobody has verified it since.
    h = new(firms[1], "喷涂车间通风设施失效", loc="喷涂车间", c=back(20))
    go(h, d, "assign", assignee="车间主任", c=back(20))
    go(h, e, "accept", plan=plan(general_plan, 10), c=back(19))
    sha = upload(h, 11, c=back(12))
    go(h, e, "confirm_rectified", summary="已更换排风机并检测合格", evidence=[sha], c=back(12))
    # 延期待审批: the first firm (the demo enterprise person's) asks for more time.
    h = new(firms[0], "仓库自动喷淋系统损坏", loc="成品仓库", c=back(3))
    go(h, d, "assign", assignee="仓储部", c=back(3))
    go(h, e, "accept", plan=plan(general_plan, -10), c=back(3))
    go(
        h,
        e,
        "request_extension",
        reason="喷淋主管需从厂家订货，到货约需三周",
        new_deadline=(now + timedelta(days=30)).isoformat(),
        c=back(1),
    )
