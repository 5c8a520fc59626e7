"""What every bench case shares: options, scratch folders on the project's disk, a rectify
context, the SQLite durability pragmas for the peers, medians, goals and results, profiling.

Every case measures rectify and its peer (or ceiling) in the same run, round after round,
alternating the two sides, and reports medians: the machine is shared and noisy.
"""

from __future__ import annotations

import math
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # tests.processes (the real `rectify serve`) and rectify itself
    sys.path.insert(0, str(ROOT))

from rectify.auth import service as auth  # noqa: E402
from rectify.config import Settings  # noqa: E402
from rectify.context import Context, build_context  # noqa: E402
from rectify.database.core import utcnow  # noqa: E402
from rectify.database.migrate import upgrade  # noqa: E402
from rectify.enterprises.codes import credit_code_check_char  # noqa: E402
from rectify.enterprises.models import Enterprise  # noqa: E402

RESULTS = ROOT / "bench" / "results"
REGION = "420102"


@dataclass
class Options:
    quick: bool = False
    rounds: int = 3
    profile: bool = False
    results_dir: Path = RESULTS

    def size(self, full: int, minimum: int = 1) -> int:
        """The full-run size, or about 1/50 of it for --quick."""
        return full if not self.quick else max(minimum, full // 50)


# -- scratch space ---------------------------------------------------------------------------
@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A temporary folder on the same disk as everything else here, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=f"rectify-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def fresh_dir(parent: Path, name: str) -> Path:
    path = parent / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def new_context(data_dir: Path, clock: Callable[[], datetime] = utcnow) -> Context:
    """A migrated rectify database in `data_dir` and its context (no scheduler, no demo)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    url = sqlite_url(data_dir / "rectify.db")
    upgrade(url)
    # Steps name no officers here (the documents case measures rendering, not that rule).
    settings = Settings(
        database_url=url,
        data_dir=data_dir,
        scheduler=False,
        demo=False,
        documents_require_officers=False,
    )
    return build_context(settings, clock=clock)


def credit_code(serial: int, region: str = REGION) -> str:
    first17 = f"91{region}MA4K{serial:05d}"
    return first17 + credit_code_check_char(first17)


def add_enterprise(ctx: Context, serial: int = 1, region: str = REGION) -> int:
    with ctx.db.write() as session:
        firm = Enterprise(
            name=f"基准企业{serial}",
            credit_code=credit_code(serial, region),
            industry="商贸",
            region_code=region,
        )
        session.add(firm)
        session.flush()
        return firm.id  # type: ignore[return-value]


def add_token(ctx: Context, role: str, **scope: Any) -> str:
    with ctx.db.write() as session:
        _, token = auth.create_token(session=session, role=role, name=f"bench-{role}", **scope)
    return token


# -- the peers' SQLite: the durability rectify.database.core configures ------------------------
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL")


def durable(dbapi_connection: Any, *_: Any) -> None:
    """WAL + synchronous=FULL, as rectify's engine sets (usable as a SQLAlchemy connect hook)."""
    cur = dbapi_connection.cursor()
    for pragma in PRAGMAS:
        cur.execute(pragma)
    cur.close()


def durable_sqlite(path: Path) -> sqlite3.Connection:
    """A stdlib connection in autocommit mode (BEGIN/COMMIT issued by the caller)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    durable(conn)
    return conn


# -- measuring ---------------------------------------------------------------------------------
T = TypeVar("T")


def in_turn(round_: int, *sides: T) -> list[T]:
    """The sides in the order they run in this round: swapped every other round, so that a
    drift in the machine's load falls on both."""
    return list(sides) if round_ % 2 == 0 else list(reversed(sides))


def head_to_head(
    opts: Options,
    tmp: Path,
    sides: dict[str, tuple[Side, Callable[[Path], float]]],
    fmt: str = ",.0f",
) -> None:
    """Run every side once per round in a fresh folder, in turn, and collect its rate."""
    for r in range(opts.rounds):
        for which, (side, measure) in in_turn(r, *sides.items()):
            rate = measure(fresh_dir(tmp, f"{which}-{r}"))
            side.samples.append(rate)
            print(f"  round {r + 1}: {which} {rate:{fmt}} {side.unit}", flush=True)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Side:
    """One side of a comparison: what it is, its unit, one figure per round."""

    label: str
    unit: str
    samples: list[float] = field(default_factory=list)
    higher_is_better: bool = True

    @property
    def median(self) -> float:
        return median(self.samples)

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "unit": self.unit,
            "median": _round(self.median),
            "samples": [_round(s) for s in self.samples],
            "higher_is_better": self.higher_is_better,
        }


def goal(what: str, value: float, op: str, target: float, unit: str = "") -> dict[str, Any]:
    """One goal checked against its figure; a miss says by how much."""
    met = value >= target if op == ">=" else value <= target
    out: dict[str, Any] = {
        "what": what,
        "value": _round(value),
        "op": op,
        "target": target,
        "unit": unit,
        "met": met,
    }
    if not met:
        if op == ">=":
            short = (target - value) / target if target else float("inf")
            out["miss"] = f"{_fmt(value)}{unit} is {short:.0%} below {_fmt(target)}{unit}"
        else:
            over = (value - target) / target if target else float("inf")
            out["miss"] = f"{_fmt(value)}{unit} is {over:.0%} above {_fmt(target)}{unit}"
    return out


def check(what: str, ok: bool, detail: str = "") -> dict[str, Any]:
    """A yes/no goal (e.g. "the due-timer query uses an index")."""
    out: dict[str, Any] = {
        "what": what,
        "value": ok,
        "op": "is",
        "target": True,
        "unit": "",
        "met": ok,
    }
    if not ok:
        out["miss"] = detail or "not so"
    return out


def result(
    *,
    name: str,
    compares: str,
    opts: Options,
    rectify: Side,
    peer: Side | None,
    goals: list[dict[str, Any]],
    size: dict[str, Any],
    notes: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The record of one case as run.py stores it."""
    ratio = None
    if peer is not None and peer.median:
        ratio = rectify.median / peer.median
    return {
        "case": name,
        "compares": compares,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if opts.quick else "full",
        "profiled": opts.profile,
        "rounds": opts.rounds,
        "size": size,
        "rectify": rectify.as_dict(),
        "peer": peer.as_dict() if peer else None,
        "ratio": _round(ratio) if ratio is not None else None,
        "goals": goals,
        "met": all(g["met"] for g in goals),
        "notes": notes or [],
        "extra": extra or {},
    }


def _round(x: float | None) -> float | None:
    if x is None or math.isnan(x):
        return None
    return round(x, 4) if abs(x) < 10 else round(x, 1)


def _fmt(x: float) -> str:
    return f"{x:,.3g}" if abs(x) < 100 else f"{x:,.0f}"


# -- profiling ---------------------------------------------------------------------------------
_profiled: set[str] = set()


@contextmanager
def profiled(opts: Options, case: str) -> Iterator[None]:
    """With --profile, run pyinstrument over the block (the rectify side of a case, first
    round only) and save bench/results/profile-<case>.html and .txt."""
    if not opts.profile or case in _profiled:
        yield
        return
    from pyinstrument import Profiler

    _profiled.add(case)
    profiler = Profiler(interval=0.001)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        opts.results_dir.mkdir(parents=True, exist_ok=True)
        base = opts.results_dir / f"profile-{case}"
        base.with_suffix(".html").write_text(profiler.output_html())
        base.with_suffix(".txt").write_text(profiler.output_text(unicode=True, show_all=False))
        print(f"  profile of the rectify side: {base}.html / .txt", flush=True)


# -- the machine -------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "scratch_dir": tempfile.gettempdir(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()
        info["memory_gib"] = round(int(mem[1]) / 2**20, 1)
        info["loadavg_at_start"] = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        pass
    try:
        stat = os.statvfs(tempfile.gettempdir())
        info["scratch_free_gib"] = round(stat.f_bavail * stat.f_frsize / 2**30, 1)
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    libs = {}
    for name in ("sqlalchemy", "sqlmodel", "transitions", "apscheduler", "fastapi", "uvicorn"):
        try:
            libs[name] = version(name)
        except PackageNotFoundError:
            libs[name] = None
    for name in ("spiffworkflow", "pyinstrument"):
        try:
            libs[name] = version(name)
        except PackageNotFoundError:
            libs[name] = None
    info["libraries"] = libs
    return info


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in KiB, from /proc/PID/status."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(rest.split()[0])
    return out
