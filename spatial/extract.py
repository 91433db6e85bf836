"""Find spatial-structure slogans (一核一带三区 …) in a plan's text and draft a plan spec.

The draft is a starting point for a person: every guess carries offsets into the text so it
can be checked, and whatever the text does not settle is listed in ``unresolved``.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Callable, Iterable

from . import slogan as sl
from .citations import PlanText
from .errors import InputError

_HAN = r"\u4e00-\u9fff"
_NUMS = "一二两三四五六七八九十"
_TERMS = "|".join(sl.TERMS)
#: One counted unit as plans write it outside quotes: 一核, 两 纵, 四大组团.
_UNIT = rf"[{_NUMS}]\s{{0,2}}大?\s{{0,2}}(?:{_TERMS})"
#: Inside quotes units may carry 个 and a one-character modifier (一个园区, 一古村), or 多 (多点).
_QUNIT = rf"[{_NUMS}多](?:大|个)?[{_HAN}]?(?:{_TERMS})"
_VERB = rf"[^\W\d_{_NUMS}多]"
_ITEM = rf"(?:(?:{_QUNIT})+{_VERB}{{0,2}}|[{_HAN}]{{2}}一体)"
_QUOTED_SLOGAN = re.compile(rf"{_ITEM}(?:[、，,]{_ITEM})*")
_DIRECTIONS = re.compile(rf"(?:[东西南北中][{_HAN}]){{2,4}}(?:[、，,](?:[东西南北中][{_HAN}]){{2,4}})*")
_QUOTE = re.compile(r"[“\"「『]([^”\"」』\n]{2,40})[”\"」』]")
_COMPACT = re.compile(rf"{_UNIT}(?:\s{{0,2}}{_UNIT}){{1,7}}|[{_NUMS}]大(?:{_TERMS})")
_VERB_LIST = re.compile(rf"(?:{_UNIT}){{1,3}}{_VERB}{{2}}(?:[、，,](?:{_UNIT}){{1,3}}{_VERB}{{2}}){{1,5}}")
_BIG = re.compile(rf"[{_NUMS}]大(?:{_TERMS})")
#: A counted collective with a longer head: 四大产业园, 两个产城融合区 (never 一).
_COLLECTIVE = re.compile(rf"([二两三四五六七八九十])[大个]([{_HAN}]{{1,5}}?)({_TERMS})(?![{_HAN}])")
_COUNTED = re.compile(rf"[{_NUMS}多]")
#: Occurrences of one slogan whose following passage is read for its definition.
MAX_TRIED = 8
#: At most this many named structures per plan (the most confident).
MAX_NAMED = 40
_HEADING = re.compile(r"第[一二三四五六七八九十百]+[章节篇]")
#: Slogan-shaped phrases that are not spatial structures.
FALSE_FRIENDS = ("一带一路", "一城一品", "三区三线", "一村一品", "一镇一品", "一区一品", "两山", "八大山人")

#: Role guessed from the term an element counts toward.
ROLE_OF_TERM = {
    "核": "core", "心": "core", "城": "core", "极": "pole", "轴": "axis", "横": "axis",
    "纵": "axis", "街": "axis", "带": "belt", "江": "belt", "湾": "belt", "廊": "corridor",
    "长廊": "corridor", "区": "zone", "片区": "zone", "圈": "zone", "翼": "zone", "园": "zone",
    "基地": "zone", "山": "zone", "村": "zone", "水": "zone", "湖": "zone", "组团": "group",
}
#: Endings of the names a plan gives to the parts of each term, longest first.
SUFFIXES = {
    "核": ("核心区", "中心城区", "核心"), "心": ("中心",), "城": ("城",), "极": ("增长极", "极"),
    "轴": ("发展轴", "轴", "线"), "横": ("快速路", "大道", "路"), "纵": ("快速路", "大道", "路"),
    "街": ("街",), "带": ("带",), "江": ("江",), "湾": ("湾",), "廊": ("走廊", "廊"),
    "长廊": ("长廊",), "区": ("片区", "区"), "片区": ("片区",), "圈": ("圈",), "翼": ("翼",),
    "园": ("园",), "基地": ("基地",), "山": ("山",), "村": ("村",), "水": ("水",),
    "湖": ("湖",), "组团": ("组团",), "点": ("点",), "环": ("环",),
}
#: Default drawing method per role (written with a TODO for the person to check).
DRAW = {
    "core": "{method: landmarks, buffer_m: 800}", "pole": "{method: landmarks, buffer_m: 800}",
    "axis": "{method: corridor, waypoints: []}", "belt": "{method: corridor, waypoints: []}",
    "corridor": "{method: corridor, waypoints: []}", "zone": "{method: landmarks, buffer_m: 800}",
    "group": "{method: landmarks, buffer_m: 800}", "node": "{method: node}",
}
_KINDS = (("空间格局", "overall"), ("空间布局", "overall"), ("城乡", "overall"),
          ("旅游", "tourism"), ("文旅", "tourism"), ("产业", "industrial"), ("生态", "ecological"),
          ("路网", "transport"), ("公路", "transport"), ("交通", "transport"),
          ("商圈", "commerce"), ("夜经济", "commerce"), ("商贸", "commerce"), ("城市", "urban"))
_STOP_WORDS = ("主要包括", "分别是", "以及", "包括", "打造", "建设", "构建", "形成", "推进", "加快",
               "依托", "围绕", "重点", "着力", "发展", "即", "是", "的", "和", "与", "及", "为", "在",
               "以", "等", "将", "把", "对", "向", "有")
#: Characters that may follow a name (besides non-Han characters).
_AFTER_NAME = set("和与及以为的等在是内周")
#: First characters that belong to the preceding word, not to a township's name.
_LEAD_STOP = set("以在和与及对把向将至从由是的等即为到于进设造动升绕托括含射辖抓强")
_GENERIC = {"示范区", "开发区", "试验区", "功能区", "新区", "城区", "主城区", "辖区", "全区", "园区",
            "片区", "景区", "社区", "小区", "核心区", "中心", "产业园", "工业园", "经济带"}
_GENERIC_ENDINGS = ("重点", "难点", "亮点", "热点", "特点", "焦点", "起点", "要点", "生态圈", "朋友圈")
_NAME_HEADER = re.compile(r"(?:(?<=[。\n])|(?<=[。\n] ))([^\s。，,；;：:、“”\"()（）]{3,16})。")
_TOWNSHIP = re.compile(rf"[{_HAN}]{{2,3}}(?:街道|镇|乡)")
_PLACE_SUFFIXES = ("片区", "组团", "园区")
_NAME_CHARS = re.compile(rf"[{_HAN}·0-9A-Za-z]")
_PUNCT = re.compile(r"[\s\W_]+")


@dataclass
class Cite:
    """A passage of the text: ``text[offset:offset + len(quote)] == quote``."""

    offset: int
    quote: str


@dataclass
class Place:
    """A member place found in the text; ``source`` is gazetteer, township or pattern."""

    name: str
    offset: int
    source: str


@dataclass
class Named:
    """A part's name as the text gives it, with the places named in its defining passage."""

    name: str
    offset: int
    members: list[Place] = field(default_factory=list)


@dataclass
class Part:
    """One counted unit of a slogan (三区: term 区, count 3) and what defines it in the text.

    ``names`` are at most ``count`` names; further candidates go to ``extra``.
    """

    unit: str
    term: str
    count: int | None
    role: str
    header: Cite | None = None
    names: list[Named] = field(default_factory=list)
    members: list[Place] = field(default_factory=list)
    extra: list[Named] = field(default_factory=list)


@dataclass
class Structure:
    """A structure found in the text, its parts and what is left for a person to settle.

    ``form`` is ``slogan`` for a counted slogan (一核两带, 两院三中心) and ``named`` for a named
    structure (沿江文旅产业带, 专栏 box titles); ``kind`` is the spec's kind (overall, tourism …).
    """

    slogan: str
    offset: int
    occurrences: list[int]
    counts: dict[str, int]
    confidence: float
    kind: str
    form: str = "slogan"
    defined_in_text: bool = False
    definition_offset: int | None = None
    parts: list[Part] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)


@dataclass
class Draft:
    """What :func:`extract` found in one text."""

    seed: str
    structures: list[Structure] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)


def decode_text(data: bytes, source: str) -> str:
    """Decode a plan's bytes: UTF-8 (BOM optional), UTF-16 with BOM, else GBK/GB18030.

    Raises
    ------
    InputError
        When the bytes are binary or in no encoding a plan text could be in.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _checked(data.decode("utf-16", errors="replace"), source)
    if b"\x00" in data:
        raise _binary(source, "contains NUL bytes")
    try:
        return _checked(data.decode("utf-8"), source)
    except UnicodeDecodeError:
        pass
    try:
        return _checked(data.decode("gb18030"), source)
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise _binary(source, "is not text in UTF-8, GBK/GB18030 or any encoding recognised")
    return _checked(str(best), source)


def _checked(text: str, source: str) -> str:
    """``text`` unless it is mostly control characters (a binary file that happened to decode)."""
    control = sum(1 for c in text[:20000] if ord(c) < 32 and c not in "\n\r\t\f")
    if control > max(2, len(text[:20000]) // 100):
        raise _binary(source, "is mostly control characters")
    return text


def _binary(source: str, why: str) -> InputError:
    return InputError.one(
        source, "", f"not a plan text: the file {why}",
        "give the plan as a text file (UTF-8 or GBK), e.g. copy the text out of the PDF or web page",
    )


def extract(text: str, *, seed: str, known_places: Iterable[str] = (), max_named: int = MAX_NAMED) -> Draft:
    """Find the slogans and named structures of a plan's text, their parts, names and member places.

    Parameters
    ----------
    text : the plan's text (offsets are indices into it).
    seed : the seed file's name, written into the draft.
    known_places : gazetteer names (and aliases) of the district, recognised as members.
    max_named : at most this many named structures (the most confident) are kept.
    """
    draft = Draft(seed=seed)
    found = _find_slogans(text)
    places = _Places(text, known_places)
    for st in found:
        _define(text, st, places)
    named = _find_named(text, found, places, max_named=max_named)
    draft.structures = sorted(found + named, key=attrgetter("offset"))
    if not draft.structures:
        draft.unresolved.append("no spatial-structure slogan (一核…/两带…/三区…) found in the text; "
                                "write the plan's structures by hand if it has any")
    for st in found:
        draft.unresolved.extend(f"“{st.slogan}” ({st.offset}): {u}" for u in st.unresolved)
    return draft


def _norm(s: str) -> str:
    """A slogan without spaces or punctuation, for comparing slogans."""
    return _PUNCT.sub("", s)


def _find_slogans(text: str) -> list[Structure]:
    """Every slogan of the text, one :class:`Structure` per distinct slogan (first occurrence)."""
    hits: list[tuple[int, str, float]] = []
    taken = bytearray(len(text))
    for q in _QUOTE.finditer(text):
        content, start = q.group(1), q.start(1)
        if any(content.startswith(f) for f in FALSE_FRIENDS):
            continue
        compact = re.sub(r"\s+", "", content)
        if _QUOTED_SLOGAN.fullmatch(compact) and _is_slogan(compact):
            hits.append((start, content, 0.9))
            taken[start:q.end(1)] = b"\x01" * (q.end(1) - start)
        elif _DIRECTIONS.fullmatch(compact) and len(compact) >= 4:
            hits.append((start, content, 0.4))
            taken[start:q.end(1)] = b"\x01" * (q.end(1) - start)
    for rx, conf in ((_VERB_LIST, 0.7), (_COMPACT, 0.6), (_COLLECTIVE, 0.5)):
        for m in rx.finditer(text):
            s, e = m.start(), m.end()
            if taken[s] or not (rx is _COLLECTIVE or _is_slogan(m.group())):
                continue
            if rx is _COLLECTIVE and m.group().endswith(_GENERIC_ENDINGS):
                continue
            if e < len(text) and re.match(rf"[{_HAN}]", text[e]) and _BIG.fullmatch(m.group()) \
                    and text[e] not in _AFTER_NAME and text[e] not in "建协发":
                continue
            if any(text.startswith(f, s) or text.startswith(f, max(0, e - len(f))) for f in FALSE_FRIENDS):
                continue
            quoted = s > 0 and text[s - 1] in "“\"「『"
            hits.append((s, m.group(), 0.8 if quoted else conf))
            taken[s:e] = b"\x01" * (e - s)
    by_norm: dict[str, Structure] = {}
    for start, written, conf in sorted(hits):
        key = _norm(written)
        st = by_norm.get(key)
        if st is None:
            by_norm[key] = Structure(
                slogan=written, offset=start, occurrences=[start], confidence=conf,
                counts=sl.counts(written), kind=_kind(text, start, len(written)))
        else:
            st.occurrences.append(start)
            st.confidence = min(1.0, max(st.confidence, conf) + 0.05)
    return list(by_norm.values())


def _is_slogan(s: str) -> bool:
    """At least two counted units, or exactly one written as N大 (四大组团)."""
    n = len(_COUNTED.findall(re.sub(r"\s+", "", s).replace("一体", "")))
    return n >= 2 or (n == 1 and bool(_BIG.fullmatch(s)))


def _kind(text: str, start: int, length: int) -> str:
    """Guess the structure's kind from the words right after (then before) the slogan."""
    after = text[start + length:start + length + 16]
    before = text[max(0, start - 16):start]
    for near in (after, before):
        for word, kind in _KINDS:
            if word in near:
                return kind
    return "overall"


class _Places:
    """Member places of a text: gazetteer names, townships (X镇/乡/街道), X片区/X组团/X园区.

    ``compact`` is the text without whitespace and ``keep[i]`` the text offset of ``compact[i]``.
    """

    def __init__(self, text: str, known: Iterable[str]) -> None:
        self.text = text
        names = sorted({k.strip() for k in known if k and k.strip()}, key=len, reverse=True)
        self.known: list[Place] = []
        self.compact, self.keep = _compact(text)
        compact, keep = self.compact, self.keep
        if names:
            rx = re.compile("|".join(re.escape(re.sub(r"\s+", "", n)) for n in names))
            self.known = [Place(m.group(), keep[m.start()], "gazetteer") for m in rx.finditer(compact)]
        self.towns = [p for p in (_township(text, m) for m in _TOWNSHIP.finditer(text)) if p]

    def within(self, a: int, b: int, exclude: Iterable[str] = ()) -> list[Place]:
        """Places whose name starts in ``text[a:b]``, first mention of each, in text order."""
        skip = set(exclude)
        out: dict[str, Place] = {}
        pattern = [Place(n, o, "pattern") for n, o, _ in _names_in(self.text, a, b, _PLACE_SUFFIXES)]
        for p in sorted(self._between(self.known, a, b) + self._between(self.towns, a, b) + pattern,
                        key=lambda p: (p.offset, -len(p.name))):
            covered = any(q.offset <= p.offset < q.offset + len(q.name) for q in out.values())
            if p.name not in out and p.name not in skip and not covered:
                out[p.name] = p
        return list(out.values())

    @staticmethod
    def _between(places: list[Place], a: int, b: int) -> list[Place]:
        """The places (sorted by offset) that start in ``[a, b)``."""
        key = attrgetter("offset")
        return places[bisect_left(places, a, key=key):bisect_left(places, b, key=key)]


def _township(text: str, m: re.Match[str]) -> Place | None:
    """The township a :data:`_TOWNSHIP` match names, or None for 城镇/乡村-like words."""
    name, start, end = m.group(), m.start(), m.end()
    suffix = "街道" if name.endswith("街道") else name[-1]
    head = name[: -len(suffix)]
    if len(head) == 3 and head[0] in _LEAD_STOP:
        head, start = head[1:], start + 1
    if head[-1] in "城乡村小集" or "乡镇" in head or head[0] in _LEAD_STOP:
        return None
    if end < len(text) and re.match(rf"[{_HAN}]", text[end]) and text[end] not in _AFTER_NAME:
        return None
    return Place(head + suffix, start, "township")


def _names_in(text: str, a: int, b: int, suffixes: Iterable[str]) -> list[tuple[str, int, str]]:
    """Names in ``text[a:b]`` ending in one of ``suffixes``: (name, offset, suffix), in order."""
    ordered = sorted({s for s in suffixes if s}, key=len, reverse=True)
    out: list[tuple[str, int, str]] = []
    if not ordered:
        return out
    rx = re.compile("|".join(map(re.escape, ordered)))
    pos = a
    while pos < b:
        m = rx.search(text, pos, b)
        if m is None:
            return out
        s, e = m.start(), m.end()
        pos = s + 1
        if e < len(text) and re.match(rf"[{_HAN}]", text[e]) and text[e] not in _AFTER_NAME:
            continue
        left = s
        while left > a and s - left < 12 and _NAME_CHARS.match(text[left - 1]):
            left -= 1
        prefix = text[left:s]
        cut = max((prefix.rfind(w) + len(w) for w in _STOP_WORDS if w in prefix), default=0)
        prefix = prefix[cut:]
        name = prefix + m.group()
        if len(prefix) >= 2 and name not in _GENERIC and not prefix.isdigit():
            out.append((name, s - len(prefix), m.group()))
            pos = e
    return out


def _define(text: str, st: Structure, places: _Places) -> None:
    """Fill ``st.parts`` from the passage after the best-defined occurrence of its slogan."""
    best: tuple[int, list[Part], int] | None = None
    for occ in st.occurrences[:MAX_TRIED]:
        parts = _parts_after(text, st.slogan, occ, places)
        score = sum(min(len(p.names), p.count or 1) for p in parts) + sum(bool(p.header) for p in parts)
        if best is None or score > best[0]:
            best = (score, parts, occ)
    if best is None:
        return
    _, st.parts, st.definition_offset = best
    headers = sum(bool(p.header) for p in st.parts)
    complete = all(p.count is None or len(p.names) == p.count for p in st.parts)
    st.defined_in_text = bool(st.parts) and (2 * headers >= len(st.parts) or complete)
    if st.defined_in_text:
        st.confidence = min(1.0, st.confidence + 0.1)
    if not st.parts:
        st.unresolved.append("no counted parts could be read from the slogan")
    for p in st.parts:
        got = ", ".join(n.name for n in p.names)
        if p.count is None:
            st.unresolved.append(f"{p.unit}: the slogan does not count its parts; found {got or 'none'}")
        elif not p.names:
            st.unresolved.append(f"{p.unit}: no {p.term} name found in the text; name the {p.count} "
                                 f"{p.role} element(s) by hand")
        elif len(p.names) < p.count:
            st.unresolved.append(f"{p.unit}: the slogan counts {p.count} {p.term} but only "
                                 f"{len(p.names)} name(s) were found ({got})")
        if p.extra:
            st.unresolved.append(f"{p.unit}: more {p.term} names than counted; also found "
                                 + ", ".join(f"{n.name}@{n.offset}" for n in p.extra))


def _window(text: str, end: int) -> int:
    """End of the passage that may define a slogan ending at ``end``: 2000 characters at most,
    cut at the first chapter/section heading that is not right after the slogan."""
    stop = min(len(text), end + 2000)
    h = _HEADING.search(text, min(end + 100, stop), stop)
    return h.start() if h else stop


def _units(slogan: str) -> list[tuple[str, list[str], sl.Term]]:
    """Each counted unit of a slogan: (unit text, header spellings, parsed term)."""
    out = []
    for item in re.split(r"[、，,]", slogan):
        terms = sl.parse(item)
        whole = _COLLECTIVE.fullmatch(item.strip())
        if not terms and whole:
            terms = [sl.Term(sl.NUMERALS[whole.group(1)], whole.group(3), 0, item.strip())]
        for t in terms:
            headers = [item.strip()] if len(terms) == 1 else []
            out.append((t.text, headers + [t.text], t))
    return out


def _parts_after(text: str, slogan: str, occ: int, places: _Places) -> list[Part]:
    """Parts of the slogan at ``occ`` as defined in the passage that follows it.

    Three ways plans define parts, tried in turn: unit headers (“一核”：即… / 三轴驱动。…),
    name headers (a sentence that is only a name: 中部红色文化旅游带。), names in the next
    sentences (…为主的港口经济带).
    """
    end = occ + len(slogan)
    stop = _window(text, end)
    parts: list[Part] = []
    for unit, spellings, term in _units(slogan):
        part = Part(unit=unit, term=term.term, count=term.count, role=ROLE_OF_TERM.get(term.term, "node"))
        for sp in spellings:
            spelled = r"\s*".join(map(re.escape, re.sub(r"\s+", "", sp)))
            rx = re.compile(rf"(?:^|(?<=[\n。；;：:，,\s]))[“\"]?({spelled})[”\"]?\s*(?:[：:。，,]|是指|即)", re.M)
            h = rx.search(text, end, stop)
            if h:
                part.header = Cite(h.start(1), h.group(1))
                break
        parts.append(part)
    headed = sorted((p for p in parts if p.header), key=lambda p: p.header.offset)
    if headed and 2 * len(headed) >= len(parts):
        for i, p in enumerate(headed):
            a = p.header.offset
            b = headed[i + 1].header.offset if i + 1 < len(headed) else _para_end(text, a, stop)
            _fill_headed(text, p, a, b, stop, places)
    else:
        _fill_unheaded(text, parts, end, stop, places)
    for p in parts:
        if p.count is not None and len(p.names) > p.count:
            p.names, p.extra = p.names[:p.count], p.names[p.count:]
    return parts


def _para_end(text: str, a: int, stop: int) -> int:
    """End of the paragraph at ``a`` (at most 800 characters, not past ``stop``)."""
    nl = text.find("\n", a, stop)
    return min(nl if nl >= 0 else stop, a + 800)


def _fill_headed(text: str, p: Part, a: int, b: int, stop: int, places: _Places) -> None:
    """Names and members of a part whose passage ``text[a:b]`` starts with its header."""
    head_end = a + len(p.header.quote)
    m = re.compile(r"[”\"]?\s*[：:]?\s*(?:即|是指)[：:]?\s*").match(text, head_end)
    if m:
        clause = re.split(r"[。；;\n]", text[m.end():b], maxsplit=1)[0]
        pos = m.end()
        for piece in re.split(r"([、，,和及])", clause):
            name = re.split(r"\s|形成|等|的", piece.strip(), maxsplit=1)[0]
            if len(name) >= 2 and not re.fullmatch(r"[、，,和及]", name):
                off = text.index(name, pos)
                para = text.find("\n" + name, off + len(name), stop)
                span = (para + 1, _para_end(text, para + 1, stop)) if para >= 0 else (off, off + len(name))
                p.names.append(Named(name, off, places.within(*span, exclude=[name])))
            pos += len(piece)
    else:
        p.names = _named(text, {p.term}, head_end, b, places)[p.term]
    p.members = places.within(a, b, exclude=[n.name for n in p.names])
    if len(p.names) == 1:
        own = {m.name for m in p.names[0].members}
        p.names[0].members += [m for m in p.members if m.name not in own]


def _fill_unheaded(text: str, parts: list[Part], end: int, stop: int, places: _Places) -> None:
    """Names of parts without unit headers: name headers in the passage, else the slogan's
    sentence and the next two."""
    terms = {p.term for p in parts}
    owner = _owners(terms)
    heads = _name_headers(text, end, stop, owner, places)
    b = end
    for _ in range(3):
        nxt = re.compile(r"[。\n]").search(text, b + 1, stop)
        b = nxt.end() if nxt else stop
    inline = _named(text, terms, end, min(b, end + 800, stop), places)
    for p in parts:
        p.names = heads.get(p.term) or inline.get(p.term, [])
        for n in p.names:
            p.members.extend(n.members)


def _owners(terms: set[str]) -> dict[str, str]:
    """The term each name ending belongs to (a longer term's endings win: 片区 over 区)."""
    owner: dict[str, str] = {}
    for t in sorted(terms, key=lambda t: -len(t)):
        for suf in SUFFIXES.get(t, (t,)):
            owner.setdefault(suf, t)
    return owner


def _name_headers(text: str, a: int, b: int, owner: dict[str, str],
                  places: _Places) -> dict[str, list[Named]]:
    """Sentences of ``text[a:b]`` that are only a part's name (中部红色文化旅游带。), per term;
    members come from the passage up to the next such sentence."""
    found: list[tuple[str, int, str]] = []
    for m in _NAME_HEADER.finditer(text, a, b):
        name = m.group(1)
        suf = next((s for s in sorted(owner, key=len, reverse=True) if name.endswith(s)), None)
        if suf and len(name) > len(suf) + 1 and _plain_name(name):
            found.append((name, m.start(1), owner[suf]))
    out: dict[str, list[Named]] = {t: [] for t in set(owner.values())}
    for i, (name, off, term) in enumerate(found):
        nxt = found[i + 1][1] if i + 1 < len(found) else min(b, off + 400)
        out[term].append(Named(name, off, places.within(off + len(name), nxt, exclude=[name])))
    return out


def _plain_name(name: str) -> bool:
    """False for generic words (示范区, 重点) and for slogans (四大组团) taken as names."""
    return name not in _GENERIC and not name.endswith(_GENERIC_ENDINGS) and not (
        _BIG.fullmatch(name) or _COMPACT.fullmatch(name))


def _named(text: str, terms: set[str], a: int, b: int, places: _Places) -> dict[str, list[Named]]:
    """Names in ``text[a:b]`` per term; each name goes to the term of its longest ending;
    members come from the clause before the name."""
    owner = _owners(terms)
    out: dict[str, list[Named]] = {t: [] for t in terms}
    seen: set[str] = set()
    clause_start = a
    for name, off, suf in _names_in(text, a, b, owner):
        if name in seen or not _plain_name(name):
            continue
        seen.add(name)
        out[owner[suf]].append(Named(name, off, places.within(clause_start, off, exclude=[name])))
        clause_start = off + len(name)
    return out



# --- Named structures: 沿江文旅产业带, 两院三中心, 专栏 box titles ---------------------------------

#: Endings of named structures: (role, term, base confidence); stronger layout words score higher.
NAMED_ENDINGS = {
    "产业带": ("belt", "带", 0.4), "经济带": ("belt", "带", 0.35), "带": ("belt", "带", 0.4),
    "走廊": ("corridor", "廊", 0.4), "廊道": ("corridor", "廊", 0.4), "绿廊": ("corridor", "廊", 0.4),
    "长廊": ("corridor", "长廊", 0.4), "商圈": ("zone", "圈", 0.4), "文化圈": ("zone", "圈", 0.35),
    "生态圈": ("zone", "圈", 0.25), "圈": ("zone", "圈", 0.25), "片区": ("zone", "片区", 0.35),
    "组团": ("group", "组团", 0.35), "集聚区": ("zone", "区", 0.35), "示范区": ("zone", "区", 0.15),
    "特区": ("zone", "区", 0.25), "区块": ("zone", "区", 0.3), "产业园": ("zone", "园", 0.25),
    "园区": ("zone", "园", 0.25), "格局": ("zone", "区", 0.35), "平台": ("node", "点", 0.15),
    "基地": ("zone", "基地", 0.15), "中心": ("core", "心", 0.15), "通道": ("corridor", "廊", 0.3),
    "交通网络": ("axis", "轴", 0.3), "路网": ("axis", "轴", 0.3), "工业群": ("zone", "区", 0.3),
}
#: Heads of names that are institutions or policies rather than places (创新平台, 审批中心).
_ABSTRACT_HEAD = re.compile(r"创新|审批|服务|开放|治理|监督|检验|信息|数据|智慧|人才|金融|政务|融资|交易|公共|技术|"
                            r"研发|孵化|监管|质量|管理|安全|文明|实践|疾控|救治|卫生|医疗|教育|培训|振兴|现代化|"
                            r"高质量|新发展|成果|转化")
#: A 格局 is only a layout when its name says what is laid out (城乡空间格局, not 新发展格局).
_LAYOUT_HEAD = re.compile(r"空间|城乡|城镇|乡镇|全域|布局|区域|片区|组团|旅游|分类")
_ENDING_RX = re.compile("|".join(sorted(NAMED_ENDINGS, key=len, reverse=True)))
#: Verbs that introduce a layout item (打造沿江文旅产业带, 构建…格局).
_LAYOUT_VERBS = re.compile(r"打造|构建|形成|建设|建成|推进|培育|策应|布局|做强|做优|做大|补齐|围绕|加快|规划")
#: Words a name never starts after: verbs and function words left of it in the same clause.
_NAME_CUT = re.compile(r"第[一二三四五六七八九十]+[章节篇]|打造成为|打造|构建|形成|建设|建成|推进|推动|培育|策应|布局|做强|做优|做大|补齐|"
                       r"加快|着力|围绕|依托|实施|成为|高规格|高标准|主动|全力|大力|积极|持续|进一步|"
                       r"一批|一条|[的和与及集为在以将把对向是即等、]")
#: What may follow a name besides a non-Han character.
_NAME_FOLLOW = re.compile(r"[和与及以为的等在是内周已]|建设|发展|协同|联动|布局|日臻|提升|初见")
#: Words after a name that mark it as a project of the plan.
_BUILT = re.compile(r"建设|协同|联动|布局")
#: Counted collectives with a head: 两大平台, 双过江通道, 四大特色产业生态圈, 两个产城融合区.
_NUMBERED = re.compile(rf"(?:[二两三四五六七八九十][大个][{_HAN}]{{0,6}}?|双[{_HAN}]{{1,3}}?)"
                       rf"(?:{_ENDING_RX.pattern}|{_TERMS})(?=[^{_HAN}]|{_NAME_FOLLOW.pattern}|$)")
#: A quoted run of counted items with any head: 两医一新, 一乡镇一产业, 两院三中心.
_QUOTED_COUNTED = re.compile(rf"(?:[{_NUMS}][大个]?[{_HAN}]{{1,3}}?){{2,4}}")
#: A quoted phrase with one counted term: 两园, 夜游两湖.
_QUOTED_TERM = re.compile(rf"[{_HAN}]{{0,3}}[{_NUMS}][大个]?(?:{_TERMS})[{_HAN}]{{0,3}}")
#: Unquoted direction strategies: 中拓北扩西延, 北融南扩东拓西连.
_DIRECTION_RUN = re.compile(r"(?:[东西南北中][拓扩延融连优联进]){3,}")
#: A ring around a lake, hill or river at the start of a clause: 环白水湖.
_RING = re.compile(rf"(?<=[。，,；;、：:])环(?!境|保|节|比|卫)[{_HAN}]{{1,4}}?[湖山江河]")
#: Section and box headings: 第二节 …, 专栏6 …, 一、…, （一）….
_SECTION = re.compile(rf"(?:^|(?<=[\s。]))(第[一二三四五六七八九十]+节|专栏\s*\d+|[一二三四五六七八九十]+、|"
                      rf"[（(][一二三四五六七八九十]+[）)])[ \t\u3000]*([{_HAN}“”、·0-9A-Za-z]{{4,30}})", re.M)
#: Heading words that say a section lays things out in space.
_SPATIAL_WORDS = re.compile(r"空间|布局|格局|城乡|乡镇|城镇|乡村|农村|片区|园区|交通|路网|水系|水生态|商圈|全域|"
                            r"区块|组团|走廊|廊道|产业带|集聚区")
_NAMED_FALSE_FRIENDS = ("双循环", "朋友圈", "生活圈", "圈层", "长江经济带", "新发展格局")
#: Verbs a heading starts with before the name it announces (第一节 打造全市区域性物流中心).
_TITLE_VERB = re.compile(r"^(?:打造|培育|推进|构建|建设|建强|加快|做强|做优|提升|全面|完善)+")


@dataclass
class _Candidate:
    """A named-structure candidate: its written text, where it stands and how it was found."""

    written: str
    offset: int
    confidence: float
    form: str
    role: str
    term: str


def _compact(text: str) -> tuple[str, list[int]]:
    """The text without whitespace and, per character kept, its offset in ``text``."""
    keep = [i for i, c in enumerate(text) if not c.isspace()]
    return "".join(text[i] for i in keep), keep


def _find_named(text: str, slogans: list[Structure], places: _Places, *, max_named: int) -> list[Structure]:
    """Named structures and counted collectives the slogan finder leaves out, most confident first,
    at most ``max_named`` of form ``named``; names that are parts of a slogan are left out."""
    compact, keep = places.compact, places.keep
    blocked = bytearray(len(text) + 1)
    for st in slogans:
        for o in st.occurrences:
            blocked[o:o + len(st.slogan) + 8] = b"\x01" * len(blocked[o:o + len(st.slogan) + 8])
    part_names = {_norm(n.name) for st in slogans for p in st.parts for n in p.names + p.extra}
    for st in slogans:
        for p in st.parts:
            spans = [(n.offset, n.name) for n in p.names + p.extra] + [(m.offset, m.name) for m in p.members]
            spans += [(m.offset, m.name) for n in p.names for m in n.members]
            spans += [(p.header.offset, p.header.quote)] if p.header else []
            for o, written in spans:
                blocked[o:o + len(written)] = b"\x01" * len(blocked[o:o + len(written)])
    headings = [(m.start(), m.end(2)) for m in _SECTION.finditer(text) if not _is_toc(text, m.end(2))]
    cands: list[_Candidate] = []
    cands += _suffix_names(text, compact, keep, headings)
    cands += _numbered(text, compact, keep)
    cands += _quoted(text)
    for rx, conf in ((_DIRECTION_RUN, 0.45), (_RING, 0.35)):
        for m in rx.finditer(compact):
            role, term = ("zone", "区") if rx is _RING else ("axis", "轴")
            cands.append(_Candidate(_written(text, keep, m.start(), m.end()), keep[m.start()], conf,
                                    "slogan" if rx is _DIRECTION_RUN else "named", role, term))
    cands += _section_titles(text, headings, places)
    by_norm: dict[str, Structure] = {}
    for c in sorted(cands, key=lambda c: (-c.confidence, c.offset)):
        key = _norm(c.written)
        if blocked[c.offset] or key in part_names or any(f in key for f in FALSE_FRIENDS + _NAMED_FALSE_FRIENDS):
            continue
        st = by_norm.get(key)
        if st is not None:
            if c.offset not in st.occurrences:
                st.occurrences.append(c.offset)
            st.confidence = min(1.0, st.confidence + 0.1 * c.confidence)
            continue
        sent_a, sent_b = _sentence(text, c.offset)
        part = Part(unit=c.written, term=c.term, count=1, role=c.role,
                    names=[Named(c.written, c.offset, places.within(sent_a, sent_b, exclude=[c.written]))])
        by_norm[key] = Structure(slogan=c.written, offset=c.offset, occurrences=[c.offset], counts=sl.counts(c.written),
                                 confidence=round(c.confidence, 2), kind=_kind(text, c.offset, len(c.written)),
                                 form=c.form, definition_offset=c.offset, parts=[part])
    for st in by_norm.values():
        st.occurrences.sort()
        st.offset = st.parts[0].names[0].offset = st.occurrences[0]
        st.confidence = round(st.confidence, 2)
    ranked = sorted(by_norm.values(), key=lambda s: (-s.confidence, s.offset))
    named = [s for s in ranked if s.form == "named"][:max_named]
    return [s for s in ranked if s.form == "slogan"] + named


def _written(text: str, keep: list[int], a: int, b: int) -> str:
    """The original text of ``compact[a:b]`` (spaces and line breaks as written)."""
    return text[keep[a]:keep[b - 1] + 1]


def _is_toc(text: str, end: int) -> bool:
    """True when a heading is a table-of-contents line (followed by dots or a page number)."""
    return bool(re.match(r"\s*(?:[.…·]{2}|\d+\s*$)", text[end:end + 8]))


def _sentence(text: str, offset: int) -> tuple[int, int]:
    """The sentence around ``offset`` (at most 200 characters each way)."""
    a = max((text.rfind(c, max(0, offset - 200), offset) for c in "。；;\n"), default=-1) + 1
    ends = [i for i in (text.find(c, offset, offset + 200) for c in "。；;\n") if i >= 0]
    return max(a, offset - 200), min(ends) if ends else min(len(text), offset + 200)


def _clause_before(text: str, offset: int, span: int = 40) -> str:
    """The text of the same sentence before ``offset`` (at most ``span`` characters)."""
    head = text[max(0, offset - span):offset]
    return re.split(r"[。；;\n]", head)[-1]


def _suffix_names(text: str, compact: str, keep: list[int], headings: list[tuple[int, int]]) -> list[_Candidate]:
    """Names ending in a layout word (…产业带, …商圈, …格局), scored by how they are introduced."""
    out: list[_Candidate] = []
    for m in _ENDING_RX.finditer(compact):
        e = m.end()
        if not _name_ends(text, compact, keep, e):
            continue
        left = m.start()
        while left > 0 and m.start() - left < 14 and re.match(rf"[{_HAN}·“”]", compact[left - 1]) \
                and "\n" not in text[keep[left - 1]:keep[left]]:
            left -= 1
        cuts = [c.end() for c in _NAME_CUT.finditer(compact, left, m.start())]
        a = cuts[-1] if cuts else left
        quoted = a > 0 and compact[a - 1] == "“" or compact[a:a + 1] == "“"
        a += compact[a:a + 1] == "“"
        if compact.count("”", a, e) > compact.count("“", a, e):
            a = compact.index("”", a, e) + 1
        base = _name_base(compact[a:e], m.group())
        if base is None:
            continue
        off = keep[a]
        role, term, _ = NAMED_ENDINGS[m.group()]
        out.append(_Candidate(_written(text, keep, a, e), off,
                              base + _introduced(text, off, keep[e - 1] + 1, headings) + 0.2 * quoted,
                              "named", role, term))
    return out


def _name_base(name: str, ending: str) -> float | None:
    """Base confidence of a name with a layout ending, or None when it is no name (示范区, 个…长廊,
    两大…, 新发展格局); institutions and policies (创新平台) score lower."""
    head = name[:-len(ending)]
    if len(head) < 2 or name in _GENERIC or _COUNTED.match(head) or head[0] == "个" \
            or not re.match(rf"[{_HAN}]", head) or re.search(rf"[{_NUMS}][大个]", head) \
            or (ending == "格局" and not _LAYOUT_HEAD.search(head)):
        return None
    return NAMED_ENDINGS[ending][2] - 0.2 * bool(_ABSTRACT_HEAD.search(head))


def _name_ends(text: str, compact: str, keep: list[int], e: int) -> bool:
    """True when a name may end before ``compact[e]``: at a line break, a non-Han character or
    a word that follows names (和, 建设 …), not inside a longer word (中心城区, 带动)."""
    if e >= len(compact) or not re.match(rf"[{_HAN}]", compact[e]) or _NAME_FOLLOW.match(compact, e):
        return True
    return "\n" in text[keep[e - 1]:keep[e]]


def _introduced(text: str, a: int, b: int, headings: list[tuple[int, int]]) -> float:
    """Confidence a name at ``text[a:b]`` gains from how it is introduced: a layout verb right
    before it (打造…) or earlier in its clause, a heading, 建设/协同 after it."""
    before = _clause_before(text, a)
    verbs = list(_LAYOUT_VERBS.finditer(before))
    score = (0.25 if len(before) - verbs[-1].end() <= 4 else 0.1) if verbs else 0.0
    score += 0.25 * any(h0 <= a < h1 for h0, h1 in headings)
    return score + 0.1 * bool(_BUILT.match(text, b))


def _numbered(text: str, compact: str, keep: list[int]) -> list[_Candidate]:
    """Counted collectives (两大平台, 两个产城融合区, 双过江通道) as slogans."""
    out: list[_Candidate] = []
    for m in _NUMBERED.finditer(compact):
        e = m.end()
        if not _name_ends(text, compact, keep, e):
            continue
        if m.group().endswith(("重点", "难点", "亮点", "热点", "特点", "焦点", "起点", "要点")):
            continue
        ending = _ENDING_RX.search(m.group())
        role, term, _ = NAMED_ENDINGS[ending.group()] if ending and m.group().endswith(ending.group()) else \
            (ROLE_OF_TERM.get(m.group()[-1], "zone"), m.group()[-1], 0)
        if term not in sl.ROLE_TERMS.get(role, ()):
            role, term = "zone", "区"
        out.append(_Candidate(_written(text, keep, m.start(), e), keep[m.start()], 0.5, "slogan", role, term))
    return out


def _quoted(text: str) -> list[_Candidate]:
    """Quoted counted phrases (“两医一新”, “两园”, “夜游两湖”) and quoted brands a layout verb
    introduces (打造“浔城记忆”)."""
    out: list[_Candidate] = []
    for q in _QUOTE.finditer(text):
        content = re.sub(r"\s+", "", q.group(1))
        before = text[max(0, q.start() - 6):q.start()]
        after = text[q.end():q.end() + 2]
        led = bool(_LAYOUT_VERBS.search(before)) or after in ("建设", "协同", "布局")
        if _QUOTED_COUNTED.fullmatch(content) and len(_COUNTED.findall(content)) >= 2 and led:
            out.append(_Candidate(q.group(1), q.start(1), 0.5, "slogan", "zone", "区"))
        elif _QUOTED_TERM.fullmatch(content) and len(content) <= 8:
            t = sl.parse(content)
            role = ROLE_OF_TERM.get(t[0].term, "node") if t else "zone"
            term = t[0].term if t and t[0].term in sl.ROLE_TERMS[role] else sl.DEFAULT_TERM[role]
            out.append(_Candidate(q.group(1), q.start(1), 0.45, "slogan", role, term))
        elif led and re.search(r"(打造|构建|建设|建成)[“\"]?$", before) and 2 <= len(content) <= 8 \
                and re.fullmatch(rf"[{_HAN}]+", content):
            out.append(_Candidate(q.group(1), q.start(1), 0.2, "named", "zone", "区"))
    return out


def _section_titles(text: str, headings: list[tuple[int, int]], places: _Places) -> list[_Candidate]:
    """Section and 专栏 titles whose section lays things out: a 专栏 box, a spatial word in the
    title, or places named in the first 300 characters."""
    out: list[_Candidate] = []
    for a, b in headings:
        m = _SECTION.match(text, a)
        verb = _TITLE_VERB.match(m.group(2))
        title, off = m.group(2)[verb.end() if verb else 0:], m.start(2) + (verb.end() if verb else 0)
        if len(title) < 2:
            continue
        box = 0.15 * m.group(1).startswith("专栏")
        ending = next((e for e in sorted(NAMED_ENDINGS, key=len, reverse=True) if title.endswith(e)), None)
        if ending:
            base = _name_base(re.sub(r"\s+", "", title), ending)
            if base is not None:
                role, term, _ = NAMED_ENDINGS[ending]
                out.append(_Candidate(title, off, base + 0.25 + box, "named", role, term))
            continue
        n_places = len(places.within(b, min(len(text), b + 300)))
        conf = 0.15 + box + 0.1 * bool(_SPATIAL_WORDS.search(title)) + 0.05 * min(n_places, 4)
        if conf >= 0.3:
            out.append(_Candidate(title, off, conf, "named", "zone", "区"))
    return out


def to_spec_yaml(draft: Draft, *, adcode: str = "TODO", district: str = "TODO", city: str = "TODO",
                 province: str = "TODO", title: str = "TODO", period: str = "TODO",
                 text: PlanText | None = None) -> str:
    """The draft as plan-spec YAML (docs/data-format.md), with ``# TODO`` comments to finish;
    with the plan's ``text`` every citation gets its ``section`` (第…章 第…节 …)."""
    q = _q

    def section(offset: int) -> str:
        return f", section: {q(text.section(offset))}" if text is not None else ""

    lines = [
        f"# DRAFT written by `spatial extract` from {draft.seed}: check every element against the text,",
        "# fill the TODOs, delete what is not a spatial structure.",
    ]
    lines += [f"# TODO unresolved: {u}" for u in draft.unresolved]
    lines += ["plan:", f"  adcode: {q(adcode)}", f"  district: {q(district)}", f"  city: {q(city)}",
              f"  province: {q(province)}", f"  title: {q(title)}", f"  period: {q(period)}",
              f"  seed: {q(draft.seed)}"]
    if not draft.structures:
        return "\n".join(lines + ["structures: []", ""])
    lines.append("structures:")
    for i, st in enumerate(draft.structures, 1):
        lines += [
            f"  - id: s{i}                 # {st.form}, confidence {st.confidence:.2f}; also at "
            f"{st.occurrences[1:11] or 'no other offset'}"
            + ("; named candidate: keep it only if the plan lays it out as a structure" if st.form == "named" else ""),
            f"    slogan: {q(st.slogan)}    # counts {json.dumps(st.counts, ensure_ascii=False)}",
            "    name: TODO              # TODO short label",
            f"    kind: {st.kind}           # TODO check: overall|industrial|ecological|urban|tourism|transport|commerce",
            f"    defined_in_text: {'true' if st.defined_in_text else 'false'}   # TODO check",
            f"    cite: {{offset: {st.offset}{section(st.offset)}}}",
            "    interpretation: null",
        ]
        if st.definition_offset != st.offset:
            lines.append(f"    # parts defined after the occurrence at {st.definition_offset}")
        lines.append("    elements:" if st.parts else "    elements: []")
        for el in _elements(st, section):
            lines += ["      " + el[0]] + ["        " + line for line in el[1:]]
    return "\n".join(lines + [""])


def _elements(st: Structure, section: Callable[[int], str]) -> list[list[str]]:
    """YAML lines of each element of a structure (one per name, placeholders for missing ones)."""
    q = _q
    total: dict[str, int] = {}
    for p in st.parts:
        total[p.role] = total.get(p.role, 0) + max(p.count or 1, len(p.names))
    seen: dict[str, int] = {}
    out = []
    for p in st.parts:
        names: list[Named | None] = list(p.names) + [None] * max(0, (p.count or 1) - len(p.names))
        for n in names:
            seen[p.role] = seen.get(p.role, 0) + 1
            eid = p.role if total[p.role] == 1 else f"{p.role}-{seen[p.role]}"
            members = (n.members if n and n.members else p.members if len(names) == 1 else [])
            cite = p.header or (Cite(n.offset, n.name) if n else None)
            el = [f"- id: {eid}",
                  f"role: {p.role}",
                  f"term: {q(p.term)}",
                  f"name: {q(n.name)}   # at {n.offset}" if n else "name: TODO   # TODO not named in the text",
                  "function: TODO   # TODO own words",
                  "categories: []   # TODO",
                  f"members: [{', '.join(q(m.name) for m in members)}]   # TODO check; "
                  + (", ".join(f"{m.name}@{m.offset} ({m.source})" for m in members) or "none found"),
                  f"draw: {_draw(p.role, members)}   # TODO check draw method"]
            if cite:
                el.append(f"cite: {{offset: {cite.offset}, quote: {q(cite.quote)}{section(cite.offset)}}}")
            else:
                el.append(f"cite: {{offset: {st.offset}, quote: {q(st.slogan)}{section(st.offset)}}}"
                          "   # TODO cite the definition")
            out.append(el)
    return out


def _draw(role: str, members: list[Place]) -> str:
    """Default draw method: townships when every member is a township, else by role."""
    if role in ("zone", "group") and members and all(m.source == "township" for m in members):
        return "{method: townships}"
    return DRAW[role]


def _q(s: str) -> str:
    """A YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    return json.dumps(s, ensure_ascii=False)


def recall(draft: Draft, spec: dict) -> float:
    """Share of the spec's structures the draft found, see :func:`found_ids`.

    A spec without structures gives 1.0.
    """
    wanted = spec.get("structures") or []
    return len(found_ids(draft, spec)) / len(wanted) if wanted else 1.0


def found_ids(draft: Draft, spec: dict) -> list[str]:
    """Ids of the spec's structures that the draft found: a draft structure (slogan or named)
    has the same slogan (spaces and punctuation ignored) or stands within 30 characters of the
    spec's cite offset."""
    names = {_norm(s.slogan) for s in draft.structures}
    offsets = sorted(o for s in draft.structures for o in s.occurrences)
    out = []
    for s in spec.get("structures") or []:
        off = (s.get("cite") or {}).get("offset")
        near = isinstance(off, int) and bisect_left(offsets, off - 30) < len(offsets) \
            and offsets[bisect_left(offsets, off - 30)] <= off + 30
        if _norm(str(s.get("slogan", ""))) in names or near:
            out.append(str(s.get("id")))
    return out


def run_extract(data: bytes, source_name: str, known_places: Iterable[str] = (), *,
                adcode: str = "TODO", district: str = "TODO") -> tuple[Draft, str]:
    """Decode a plan file's bytes, extract its structures and write the draft spec YAML.

    Raises
    ------
    InputError
        When the bytes are not a text (see :func:`decode_text`).
    """
    text = decode_text(data, source_name)
    draft = extract(text, seed=Path(source_name).name, known_places=known_places)
    return draft, to_spec_yaml(draft, adcode=adcode, district=district, text=PlanText(text))
