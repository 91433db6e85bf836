"""Slogans such as 一极一核两带三区: parse their counted terms."""

from __future__ import annotations

import re
from dataclasses import dataclass

NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
#: Terms a slogan counts, longest first so that 片区 wins over 区.
TERMS = ("片区", "组团", "长廊", "基地", "核", "心", "极", "轴", "带", "区", "廊", "圈", "湾", "街",
         "湖", "江", "横", "纵", "翼", "点", "园", "城", "环", "山", "水", "村")
ROLES = ("core", "pole", "axis", "belt", "zone", "group", "corridor", "node")
DEFAULT_TERM = {"core": "核", "pole": "极", "axis": "轴", "belt": "带", "zone": "区",
                "group": "组团", "corridor": "廊", "node": "点"}
#: Which terms an element of each role may count toward.
ROLE_TERMS = {
    "core": {"核", "心", "城"},
    "pole": {"极"},
    "axis": {"轴", "横", "纵", "街"},
    "belt": {"带", "江", "湾", "廊", "长廊"},
    "zone": {"区", "片区", "圈", "湾", "湖", "翼", "园", "城", "基地", "山", "村", "水"},
    "group": {"组团"},
    "corridor": {"廊", "长廊", "带", "江", "水"},
    "node": {"点", "园", "基地", "湖", "山", "村"},
}
_NUM = "".join(NUMERALS) + "多"
#: A numeral, an optional 大 or 个 (四大组团, 四个基地), then a term.
_PATTERN = re.compile(
    rf"([{_NUM}])\s*([大个])?\s*({'|'.join(TERMS)})"
)


@dataclass(frozen=True)
class Term:
    """One counted part of a slogan: ``count`` (None for 多) of ``term`` at ``start``."""

    count: int | None
    term: str
    start: int
    text: str


def parse(slogan: str) -> list[Term]:
    """Counted terms of a slogan, in order (一核三轴四带 -> 核 1, 轴 3, 带 4; 四个基地 -> 基地 4)."""
    return [
        Term(NUMERALS.get(m.group(1)), m.group(3), m.start(), m.group(0))
        for m in _PATTERN.finditer(slogan)
    ]


def counts(slogan: str) -> dict[str, int]:
    """Expected element count per term; terms counted as 多 are left out."""
    out: dict[str, int] = {}
    for t in parse(slogan):
        if t.count is not None:
            out[t.term] = out.get(t.term, 0) + t.count
    return out
