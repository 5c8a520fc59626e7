"""A FICTIONAL 2027 year file for tests: the real notice for 2027 is not out. It makes Monday
2027-01-04 a day off (元旦 1-4 January) and Saturday 2027-01-09 a working day."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

DOCUMENT_NO = "国办发明电〔2026〕99号"

YEAR_2027 = f"""
year = 2027
revision = 1

[notice]
title = "国务院办公厅关于2027年部分节假日安排的通知（测试用，虚构）"
document_no = "{DOCUMENT_NO}"
published = 2026-11-30
note = "fictional: written by the tests"

[[holidays]]
name = "元旦"
first = 2027-01-01
last = 2027-01-04
working_days = [2027-01-09]

[[holidays]]
name = "春节"
first = 2027-02-05
last = 2027-02-11
working_days = [2027-02-20]

[[holidays]]
name = "国庆节"
first = 2027-10-01
last = 2027-10-07
working_days = [2027-09-26, 2027-10-09]
"""


def write_2027(folder: Path, text: str = YEAR_2027) -> Path:
    path = folder / "2027.toml"
    path.write_text(text, encoding="utf-8")
    return path


def doc_2027() -> dict[str, Any]:
    return tomllib.loads(YEAR_2027)
