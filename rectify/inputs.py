"""The input types every part of the service shares: text a person wrote, finite numbers, ids,
instants that exist in UTC, region codes and strict booleans, and strict JSON for bodies.

Each type refuses what it cannot take as it is: nothing is coerced (no number from a string, no
instant from a number, no "yes" for true), and every refusal is a message a person can act on.
Used by the request models (`hazards.models`, `hazards.triggers`, `enterprises.models`), the query
parameters of the views and the JSON body route (`api.json_body`); docs/DECISIONS.md ("Input and
start-up") says why each rule is what it is.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from rectify.database.core import MAX_ID

__all__ = [
    "Id",
    "Day",
    "Instant",
    "LongText",
    "Money",
    "NotJSON",
    "Percent",
    "QueryBool",
    "RegionCode",
    "Text",
    "check_region_code",
    "clean_filename",
    "long_text",
    "loads",
    "maybe_text",
    "parse_instant",
    "text",
]

# -- text -----------------------------------------------------------------------------------

# Refused everywhere: C0 controls (NUL, ESC and the rest), DEL, C1 controls, lone surrogates
# (not Unicode text), and the bidirectional formatting characters that make text display
# differently from what it says (Trojan Source, CVE-2021-42574): the embeddings and overrides
# U+202A-U+202E, the isolates U+2066-U+2069, and the marks U+200E, U+200F, U+061C.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}\ud800-\udfff]")
# Long text (descriptions, notes, findings...) may also hold tab, line feed and the Unicode
# line and paragraph separators; carriage return stays refused (send \n for a line break).
_LONG = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")
# Invisible characters that alone make a text blank: zero width space, non-joiner, joiner,
# word joiner, BOM / zero width no-break space.
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_NAMES = {"\t": "a tab", "\n": "a line feed", "\r": "a carriage return", "\x1b": "ESC"}


def _describe(char: str) -> str:
    code = ord(char)
    if char in _NAMES:
        kind = _NAMES[char]
    elif code < 0x20 or 0x7F <= code <= 0x9F:
        kind = "a control character"
    elif 0xD800 <= code <= 0xDFFF:
        kind = "half of a UTF-16 surrogate pair, not a character"
    elif char in "\u2028\u2029":
        kind = "a line separator"
    else:
        kind = "a bidirectional formatting character, which can make text display differently"
    return f"U+{code:04X} ({kind})"


def _refuse_in(value: str, refused: re.Pattern[str], allowed: str) -> str:
    bad = refused.search(value)
    if bad is not None:
        raise PydanticCustomError(
            "text_character",
            "contains {what} at position {at}; remove it{allowed}",
            {"what": _describe(bad.group()), "at": bad.start(), "allowed": allowed},
        )
    if not value.translate(_ZERO_WIDTH).strip():
        raise PydanticCustomError(
            "blank", "must not be blank (it holds only spaces or invisible characters)"
        )
    return value


def _one_line(value: str) -> str:
    return _refuse_in(value, _ONE_LINE, " (this field is one line: no tabs or line breaks)")


def _long(value: str) -> str:
    return _refuse_in(value, _LONG, " (tab and line feed \\n are the only controls allowed)")


def text(max_length: int = 1000) -> Any:
    """One line a person wrote (a name, title, number of a document): no control, bidi or
    line-break characters, not blank, at most `max_length` characters."""
    return Annotated[
        str, StringConstraints(strict=True, max_length=max_length), AfterValidator(_one_line)
    ]


def long_text(max_length: int = 10000) -> Any:
    """Prose (description, note, findings, summary, measures): as `text`, but tab and line feed
    (and U+2028, U+2029) are allowed."""
    return Annotated[
        str, StringConstraints(strict=True, max_length=max_length), AfterValidator(_long)
    ]


def _empty_or(check: Any) -> Any:
    def check_unless_empty(value: str) -> str:
        return value if value == "" else check(value)

    return check_unless_empty


def maybe_text(max_length: int, *, long: bool = False) -> Any:
    """An optional field whose "no value" is the empty string; anything else is checked."""
    return Annotated[
        str,
        StringConstraints(strict=True, max_length=max_length),
        AfterValidator(_empty_or(_long if long else _one_line)),
    ]


Text = text()
LongText = long_text()


# -- numbers, ids, booleans -------------------------------------------------------------------


def _json_number(*kinds: type) -> Any:
    """A BeforeValidator taking only JSON numbers of these kinds (never text, never true)."""
    names = 'a JSON number (5, not "5")' if float in kinds else 'a whole JSON number (5, not "5")'

    def number(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise PydanticCustomError(
                "number_type",
                "must be {names}, not {kind}",
                {"names": names, "kind": _kind(value)},
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise PydanticCustomError(
                "finite", "must be a finite number (NaN and Infinity are not JSON)"
            )
        return value

    return BeforeValidator(number)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    kinds = {bool: "true/false", int: "a number", float: "a number", str: "text"}
    return (kinds | {list: "a list", dict: "an object"}).get(type(value), type(value).__name__)


Money = Annotated[float, Field(ge=0, allow_inf_nan=False), _json_number(int, float)]
"""An amount in yuan: a JSON number (not a string), finite, not negative."""
Percent = Annotated[int, Field(ge=0, le=100), _json_number(int)]
"""A whole percentage 0-100 (50, not "50" or 50.5)."""
Id = Annotated[int, Field(ge=1, le=MAX_ID), _json_number(int)]
"""A row id in a JSON body: an integer (3, not "3"), 1 ≤ id < 2**63."""


def _true_or_false(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise PydanticCustomError("true_false", "must be true or false")


QueryBool = Annotated[bool, BeforeValidator(_true_or_false)]
"""A query flag: exactly `true` or `false` (not yes, 1, on)."""


# -- region codes -----------------------------------------------------------------------------

# 行政区划代码 (GB/T 2260): six ASCII digits, county and above; or nine, a township or street
# (乡级: the first nine digits of the statistical division code, 统计用区划代码), whose last three
# are not 000 (that would be the county itself: write its six digits).
REGION_CODE = re.compile(r"[0-9]{6}(?:[0-9]{3})?")


def check_region_code(code: str) -> str:
    """The code, or ValueError: six or nine ASCII digits, the province pair not 00."""
    if (
        not (isinstance(code, str) and REGION_CODE.fullmatch(code))
        or code.startswith("00")
        or (len(code) == 9 and code.endswith("000"))
    ):
        raise ValueError(
            "must be an administrative division code in ASCII digits: 6 digits for a county or "
            "above (行政区划代码, e.g. 420102) or 9 for a township or street (e.g. 420102001), "
            "with nothing before or after it"
        )
    return code


def _region(code: Any) -> str:
    try:
        return check_region_code(code)
    except ValueError as exc:
        raise PydanticCustomError("region_code", str(exc)) from None


RegionCode = Annotated[str, Field(strict=True), AfterValidator(_region)]


# -- instants ---------------------------------------------------------------------------------

_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
INSTANT_EXAMPLE = "2026-03-09T18:00:00+08:00"


def parse_instant(value: str) -> datetime:
    """An ISO 8601 date-time with its UTC offset, that exists in UTC (years 1-9999), or
    ValueError saying what to send. The offset given is kept."""
    if not _INSTANT.fullmatch(value):
        raise ValueError(
            f"must be an ISO 8601 date-time with a UTC offset, e.g. {INSTANT_EXAMPLE} "
            "or 2026-03-09T10:00:00Z"
        )
    digits = re.search(r"\.([0-9]+)", value)
    if digits and len(digits.group(1)) > 6:  # nanoseconds: datetime keeps microseconds
        value = value.replace(digits.group(0), digits.group(0)[:7], 1)
    try:
        moment = datetime.fromisoformat(value)
        moment.astimezone(UTC)
    except ValueError as exc:
        raise ValueError(f"is not a date-time that exists: {exc}") from None
    except OverflowError:
        raise ValueError(
            "is outside the times that can be represented (years 0001-9999 in UTC)"
        ) from None
    return moment


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime) and value.tzinfo is not None:  # from code, not from JSON
        value = value.isoformat()
    if not isinstance(value, str):
        raise PydanticCustomError(
            "instant_type",
            "must be a date-time text such as {example}, not {kind}",
            {"example": INSTANT_EXAMPLE, "kind": _kind(value)},
        )
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise PydanticCustomError("instant", str(exc)) from None


Instant = Annotated[datetime, BeforeValidator(_instant)]
"""An instant: ISO 8601 text with a UTC offset, representable in UTC; never a number."""

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _day(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):  # from code
        return value
    if not (isinstance(value, str) and _DAY.fullmatch(value)):
        raise PydanticCustomError(
            "day",
            "must be a calendar date written YYYY-MM-DD, e.g. 2026-03-02, not {kind}",
            {"kind": _kind(value)},
        )
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        why = {"why": str(exc)}
        raise PydanticCustomError("day", "is not a date that exists: {why}", why) from None


Day = Annotated[date, BeforeValidator(_day)]
"""A calendar date (a decision's date): `YYYY-MM-DD` text, ASCII digits; never a number."""


# -- JSON bodies ----------------------------------------------------------------------------


class NotJSON(ValueError):
    """Values a JSON body holds that are not interoperable JSON: where and why."""

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, p))}: {m}" for p, m in problems))
        self.problems = problems


class _Bad:
    """A value parsed from the body that must not be taken (found by `_walk`)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Pairs(list):  # type: ignore[type-arg]
    """An object's (key, value) pairs, kept as a list until duplicate keys are ruled out."""


_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_DIGITS = 4000  # below Python's int-from-text limit (4300), far above any real number
_MAX_DEPTH = 64  # nesting; no request of ours needs more than a few levels
_LIMIT = 20  # problems named in one answer


def _constant(name: str) -> _Bad:
    return _Bad(f"{name} is not a JSON number; send a finite number")


def _float(text: str) -> Any:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        return _Bad(f"{text[:40]} is too large for a number (above about 1.8e308)")
    return value


def _int(text: str) -> Any:
    return _Bad("the number has too many digits") if len(text) > _MAX_DIGITS else int(text)


def _walk(value: Any, path: tuple[str | int, ...], found: list[Any]) -> Any:
    if len(found) >= _LIMIT:
        return value
    if len(path) > _MAX_DEPTH:
        found.append((path, f"nested more than {_MAX_DEPTH} levels deep"))
    elif isinstance(value, _Bad):
        found.append((path, value.reason))
    elif isinstance(value, str):
        if _SURROGATE.search(value):
            found.append((path, "contains a lone UTF-16 surrogate (\\ud800-\\udfff): not text"))
    elif isinstance(value, _Pairs):
        obj: dict[str, Any] = {}
        for key, item in value:
            if _SURROGATE.search(key):
                shown = key.encode("utf-8", "backslashreplace").decode("utf-8")  # printable
                found.append(((*path, shown), "the key contains a lone UTF-16 surrogate"))
            elif key in obj:
                found.append(((*path, key), "the key appears twice in the same object"))
            obj[key] = _walk(item, (*path, key), found)
        return obj
    elif isinstance(value, list):
        for i, item in enumerate(value):
            value[i] = _walk(item, (*path, i), found)
    return value


def loads(data: bytes | str) -> Any:
    """Parse a JSON document strictly: json.JSONDecodeError where it is not JSON at all, and
    NotJSON naming each place that holds NaN, Infinity, a number too large for a double, a
    lone surrogate or a duplicate key (which Python's json takes, and other parsers do not)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")  # RFC 8259 section 8.1: JSON is exchanged as UTF-8
        except UnicodeDecodeError as exc:
            raise NotJSON([((), f"is not UTF-8 text (byte {exc.start})")]) from None
    try:
        parsed = json.loads(
            data,
            parse_constant=_constant,
            parse_float=_float,
            parse_int=_int,
            object_pairs_hook=_Pairs,
        )
    except RecursionError:
        raise NotJSON([((), f"nested more than {_MAX_DEPTH} levels deep")]) from None
    found: list[Any] = []
    value = _walk(parsed, (), found)
    if found:
        raise NotJSON(found)
    return value


# -- evidence file names ------------------------------------------------------------------------

FILENAME_MAX = 200


def clean_filename(name: str | None) -> str | None:
    """A client's file name made fit for display only: no folders, none of the characters text
    refuses, at most FILENAME_MAX characters (the extension kept); None if nothing is left."""
    if not name:
        return None
    base = re.split(r"[/\\]", name)[-1]
    base = _ONE_LINE.sub("", base).translate(_ZERO_WIDTH).strip()
    if base in ("", ".", ".."):
        return None
    if len(base) > FILENAME_MAX:
        stem, dot, ext = base.rpartition(".")
        ext = dot + ext if stem and len(ext) <= 10 else ""
        base = base[: FILENAME_MAX - len(ext)] + ext
    return base
