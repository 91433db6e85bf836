"""Citations as planners give them: the headings (篇/章/节) above an offset of a plan text, and a
short quotation of the passage there.

The seed texts come as the plans were published: headings on their own lines (most plans), run
into one long line with the text (赣县区), with a table of contents whose entries end in dot
leaders and page numbers (skipped), or, in a government work report, as numbered parts
(``一、…``) without any 第…章. A chapter heading lost in the text shows as a section number
that starts again (第三节 followed by 第一节 with no chapter between); the chapter is then
the previous one's number plus one, without a title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Heading levels, outermost first (a work report's numbered parts ``一、…`` count as 章).
LEVELS = ("篇", "章", "节")
_NUM = "一二三四五六七八九十零〇"
_NUMBERED = rf"第([{_NUM}]+)([篇章节])"
_HEADING = re.compile(rf"(?:^|(?<=\s)){_NUMBERED}[ \t\u2002\u3000]*(?=[^\s{_NUM}])")
_PART = re.compile(rf"^([{_NUM}]+)、(?=\S)", re.M)
_LEADER = re.compile(r"\s*(?:\.{3,}|…{2,}|·{3,})")
#: Longest title shown; longer ones are cut at their first comma.
TITLE_MAX = 24
#: Longest quotation shown, in characters: the cited words, never the plan's sentences.
QUOTE_MAX = 20
#: Where the cited words end: the first clause mark after the offset.
_CLAUSE_STOPS = "，,。！？；;：:、（("
_PAGE = re.compile(r"—\s*\d+\s*—")  # page numbers of a PDF's running footer


_DIGITS = "零一二三四五六七八九"


def number(numeral: str) -> int:
    """Value of a heading numeral below 100 (一, 十二, 二十, 二十三)."""
    numeral = numeral.replace("〇", "零")
    if "十" not in numeral:
        return _DIGITS.index(numeral)
    tens, _, ones = numeral.partition("十")
    return (_DIGITS.index(tens) if tens else 1) * 10 + (_DIGITS.index(ones) if ones else 0)


def numeral(n: int) -> str:
    """The heading numeral of ``1 <= n < 100``, as plans print it (十二, 二十)."""
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else _DIGITS[tens]) + "十" if tens else "") + (_DIGITS[ones] if ones else "")


@dataclass(frozen=True)
class Heading:
    """One heading: ``level`` 篇, 章 or 节; ``number`` as printed (第三章, 三、); its ``title``;
    ``offset`` where it starts and ``end`` where its title ends in the text."""

    offset: int
    level: str
    number: str
    title: str
    end: int


def _title(text: str, start: int) -> tuple[str, int]:
    """The heading's title and where it ends: the rest of its line if short, else up to the
    first space (a heading run into the text)."""
    end = text.find("\n", start)
    line = text[start:end if end >= 0 else len(text)]
    if len(line.strip()) > 40:
        line = re.match(r"\s*\S*", line).group(0)
    title = re.sub(r"\s+", "", line)
    if len(title) > TITLE_MAX:
        title = re.split(r"[,，]", title, maxsplit=1)[0]
    return title[:TITLE_MAX] + ("…" if len(title) > TITLE_MAX else ""), start + len(line)


def headings(text: str) -> list[Heading]:
    """Every 篇/章/节 heading of a plan text in order (table-of-contents entries left out).

    A text without any 第…章 heading (a work report) gets its numbered parts ``一、…`` at the
    start of a line as chapters. Chapters lost from the text are inferred (see the module note)
    with an empty title.
    """
    found: list[Heading] = []
    for m in _HEADING.finditer(text):
        line = text[m.end():m.end() + 60].split("\n", 1)[0]
        if _LEADER.search(re.split(_NUMBERED, line, maxsplit=1)[0]):
            continue  # a table-of-contents entry (dot leaders before the next heading)
        found.append(Heading(m.start(), m.group(2), f"第{m.group(1)}{m.group(2)}", *_title(text, m.end())))
    if not any(h.level == "章" for h in found):
        found = [Heading(m.start(), "章", f"{m.group(1)}、", *_title(text, m.end())) for m in _PART.finditer(text)]
    out: list[Heading] = []
    chapter, section = 0, 0
    for h in found:
        n = number(h.number.strip("第篇章节、"))
        if h.level == "篇":
            chapter, section = 0, 0
        elif h.level == "章":
            chapter, section = n, 0
        else:
            if n <= section and chapter:
                chapter += 1
                out.append(Heading(h.offset, "章", f"第{numeral(chapter)}章", "", h.offset))
            section = n
        out.append(h)
    return out


def locate(heads: list[Heading], offset: int) -> list[Heading]:
    """The headings in force at ``offset``: the latest 篇, then its latest 章, then that 章's 节."""
    current: dict[str, Heading] = {}
    for h in heads:
        if h.offset > offset:
            break
        current[h.level] = h
        for inner in LEVELS[LEVELS.index(h.level) + 1:]:
            current.pop(inner, None)
    return [current[level] for level in LEVELS if level in current]


def label(path: list[Heading]) -> str:
    """How a planner cites the place: ``第四篇 第一章 第二节 优化城乡发展布局`` (numbers of every
    level, then the innermost title that is known); ``""`` for text before any heading."""
    if not path:
        return ""
    title = next((h.title for h in reversed(path) if h.title), "")
    numbers = " ".join(h.number for h in path)
    if path[-1].number.endswith("、"):
        return f"{numbers}{title}"
    return f"{numbers} {title}".strip()


class PlanText:
    """A plan text with its headings parsed once: what to cite at an offset."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.headings = headings(text)

    def section(self, offset: int) -> str:
        """:func:`label` of the headings above ``offset``."""
        return label(locate(self.headings, offset))

    def has_chapter(self, offset: int) -> bool:
        """Whether a chapter (章, or a work report's numbered part) stands above ``offset``."""
        return any(h.level == "章" for h in locate(self.headings, offset))

    def quote(self, offset: int) -> str:
        """:func:`quote` of the words at ``offset``."""
        return quote(self.text, offset)


def quote(text: str, offset: int, *, limit: int = QUOTE_MAX) -> str:
    """The cited words: from ``offset`` to the end of their clause, broken lines and page
    footers removed, at most ``limit`` characters (``…`` where cut)."""
    window = re.sub(r"\s+", "", _PAGE.sub("", text[offset:offset + 4 * limit]))
    end = next((i for i, c in enumerate(window) if c in _CLAUSE_STOPS), len(window))
    return window[:end] if end <= limit else window[:limit] + "…"
