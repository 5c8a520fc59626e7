"""The Chinese names of a hazard's grades, sources, listing levels and penalty kinds, as
pages, ledgers, statistics and documents print them (one list, so they never disagree)."""

from __future__ import annotations

__all__ = ["GRADE_LABELS", "LEVEL_LABELS", "PENALTY_KINDS", "SOURCE_LABELS"]

GRADE_LABELS = {"general": "一般事故隐患", "major": "重大事故隐患"}
LEVEL_LABELS = {"county": "县级", "city": "市级", "province": "省级"}  # 挂牌督办's levels
PENALTY_KINDS = {
    "warning": "警告",
    "fine": "罚款",
    "daily_fine": "按日连续处罚",
    "confiscation": "没收违法所得",
    "suspension": "责令停产停业",
    "license_revocation": "吊销许可证照",
}
# In the order the report form offers them (an inspection first).
SOURCE_LABELS = {
    "inspection": "执法检查",
    "self_check": "企业自查",
    "public_report": "群众举报",
    "monitoring": "监测预警",
}
