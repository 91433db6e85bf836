"""Plan specs: typed models and validation that reports every problem at once."""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import slogan
from .citations import PlanText
from .errors import ProblemList

CATEGORIES = ("工业", "科创", "交通", "物流", "商贸", "文旅", "生态", "水利", "能源", "公共服务", "教育",
              "医疗", "住房更新", "农业", "other")
#: How a planner reads a category code that is not a Chinese word.
CATEGORY_LABELS = {"other": "其他"}
KINDS = ("overall", "industrial", "ecological", "urban", "tourism", "transport", "commerce")
METHODS = ("townships", "landmarks", "corridor", "feature", "node")
DEFAULT_BUFFER_M = {"landmarks": 800.0, "node": 500.0, "feature": 0.0}
DEFAULT_WIDTH_M = {"axis": 1000.0, "belt": 2000.0, "corridor": 1500.0}
_ID = r"^[a-z0-9][a-z0-9-]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cite(_Model):
    """Where a name stands in the seed text: ``text[offset:offset+len(quote)] == quote``;
    ``section`` is how a planner cites that place (第四篇 第一章 第二节 优化城乡发展布局), checked
    against the text's headings (:mod:`spatial.citations`) whenever the text is at hand."""

    offset: int = Field(ge=0)
    quote: str | None = None
    section: str | None = None


class Draw(_Model):
    """How an element is drawn (see docs/data-format.md)."""

    method: Literal["townships", "landmarks", "corridor", "feature", "node"]
    buffer_m: float | None = Field(default=None, ge=0)
    width_m: float | None = Field(default=None, gt=0)
    waypoints: list[str] | None = None
    feature: str | None = None
    at: str | None = None


class Element(_Model):
    """One part of a structure: a core, pole, axis, belt, zone, group, corridor or node."""

    id: str = Field(pattern=_ID)
    role: Literal["core", "pole", "axis", "belt", "zone", "group", "corridor", "node"]
    term: str | None = None
    name: str = Field(min_length=1)
    function: str = Field(min_length=1, max_length=80)
    categories: list[str] = Field(min_length=1)
    members: list[str] = Field(default_factory=list)
    draw: Draw
    cite: Cite
    interpretation: str | None = None
    interpretation_zh: str | None = None

    @property
    def slogan_term(self) -> str:
        """The slogan term this element counts toward (its role's default unless given)."""
        return self.term or slogan.DEFAULT_TERM[self.role]


class Structure(_Model):
    """A slogan and its elements."""

    id: str = Field(pattern=_ID)
    slogan: str = Field(min_length=1)
    name: str = Field(min_length=1)
    kind: Literal["overall", "industrial", "ecological", "urban", "tourism", "transport", "commerce"]
    defined_in_text: bool = True
    cite: Cite
    interpretation: str | None = None
    interpretation_zh: str | None = None
    elements: list[Element] = Field(min_length=1)


class PlanMeta(_Model):
    """The plan a spec encodes."""

    adcode: str = Field(pattern=r"^\d{6}$")
    district: str
    city: str
    province: str
    title: str
    period: str
    seed: str


class PlanSpec(_Model):
    """A whole spec file."""

    plan: PlanMeta
    structures: list[Structure] = Field(min_length=1)


def _where(data: dict, loc: tuple) -> str:
    """Human location of a pydantic error: structure and element ids where known."""
    parts: list[str] = []
    node = data
    i = 0
    while i < len(loc):
        key = loc[i]
        if key in ("structures", "elements") and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            try:
                node = node[key][loc[i + 1]]
                label = node.get("id") if isinstance(node, dict) else None
            except (KeyError, IndexError, TypeError):
                label = None
            word = "structure" if key == "structures" else "element"
            parts.append(f"{word} {label}" if label else f"{word} #{loc[i + 1] + 1}")
            i += 2
            continue
        parts.append(f"field {'.'.join(str(k) for k in loc[i:])}")
        break
    return ", ".join(parts)


_FIXES = {
    "literal_error": "use one of the allowed values",
    "missing": "add the field",
    "extra_forbidden": "remove the field or correct its spelling (see docs/data-format.md)",
    "string_pattern_mismatch": "use lower-case letters, digits and '-'",
}


def parse_spec(data: object, *, file: str) -> PlanSpec:
    """Validate a loaded YAML document into a :class:`PlanSpec`, reporting every schema error."""
    problems = ProblemList()
    if not isinstance(data, dict):
        problems.add(file, "", f"the document is a {type(data).__name__}, not a mapping",
                     "start the file with 'plan:' and 'structures:' (see docs/data-format.md)")
        problems.raise_if_any()
    try:
        return PlanSpec.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            value = err.get("input")
            shown = "" if isinstance(value, (dict, list)) else f" (got {value!r})"
            problems.add(file, _where(data, err["loc"]), err["msg"] + shown,
                         _FIXES.get(err["type"], "correct the value (see docs/data-format.md)"))
        problems.raise_if_any()
    raise AssertionError("unreachable")


def check_spec(spec: PlanSpec, *, file: str, places: set[str], features: set[str],
               townships: set[str], seed_text: str | None) -> None:
    """Semantic checks across a spec; raises :class:`~spatial.errors.InputError` listing all.

    ``places`` are the gazetteer's names and aliases of the district, ``townships`` the subset
    at township level, ``features`` the feature ids; ``seed_text`` (when available) is the
    plan text that citations are checked against.
    """
    p = ProblemList()
    dup = [k for k, n in Counter(s.id for s in spec.structures).items() if n > 1]
    for sid in dup:
        p.add(file, f"structure {sid}", "structure id used twice", "give each structure its own id")

    text = PlanText(seed_text) if seed_text is not None else None

    def cite(where: str, c: Cite, default: str) -> None:
        if text is None:
            return
        section = text.section(c.offset)
        if (c.section or "") != section:
            got = f"cite.section '{c.section}'" if c.section else "no cite.section"
            p.add(file, where, f"{got}, but offset {c.offset} stands under '{section}' in {spec.plan.seed}",
                  f"set cite.section: {section}")
        quote = c.quote or default
        got = seed_text[c.offset:c.offset + len(quote)]
        if got != quote:
            near = seed_text.find(quote, max(0, c.offset - 2000))
            hint = f"'{quote}' stands at offset {near}" if near >= 0 else f"'{quote}' is not in the seed"
            p.add(file, where, f"citation offset {c.offset} lands on '{got}', not '{quote}'",
                  f"{hint}; set cite.offset (or cite.quote to the text's wording)")

    def chinese(where: str, item: Structure | Element) -> None:
        if item.interpretation and not item.interpretation_zh:
            p.add(file, where, "interpretation has no interpretation_zh",
                  "add interpretation_zh: the same note in Chinese (the maps show only the Chinese)")

    for s in spec.structures:
        cite(f"structure {s.id}", s.cite, s.slogan)
        chinese(f"structure {s.id}", s)
        for eid in [k for k, n in Counter(e.id for e in s.elements).items() if n > 1]:
            p.add(file, f"structure {s.id}, element {eid}", "element id used twice", "give each element its own id")
        if s.defined_in_text:
            expected = slogan.counts(s.slogan)
            got = Counter(e.slogan_term for e in s.elements)
            for term, n in expected.items():
                if got.get(term, 0) != n:
                    p.add(file, f"structure {s.id}",
                          f"slogan '{s.slogan}' names {n} '{term}' but {got.get(term, 0)} elements have term '{term}'",
                          f"encode exactly {n} elements with term {term}, or set defined_in_text: false")
        for e in s.elements:
            where = f"structure {s.id}, element {e.id}"
            cite(where, e.cite, e.name)
            chinese(where, e)
            if e.slogan_term not in slogan.ROLE_TERMS[e.role]:
                allowed = ", ".join(sorted(slogan.ROLE_TERMS[e.role]))
                p.add(file, where, f"role '{e.role}' is not allowed for term '{e.slogan_term}'",
                      f"use a term of {allowed}, or the role that the term names")
            for c in e.categories:
                if c not in CATEGORIES:
                    p.add(file, where, f"unknown category '{c}'", f"use one of {' '.join(CATEGORIES)}")
            for m in e.members:
                if m not in places:
                    p.add(file, where, f"unknown member place '{m}'",
                          f"add '{m}' to data/gazetteer/{spec.plan.adcode}.csv or correct the name")
            _check_draw(p, file, where, e, places=places, features=features, townships=townships,
                        adcode=spec.plan.adcode)
    p.raise_if_any()


def _check_draw(p: ProblemList, file: str, where: str, e: Element, *, places: set[str], features: set[str],
                townships: set[str], adcode: str) -> None:
    d = e.draw
    gaz = f"data/gazetteer/{adcode}.csv"
    if d.method == "townships":
        if not e.members:
            p.add(file, where, "method townships needs members", "list the townships (乡/镇/街道) it covers")
        for m in e.members:
            if m in places and m not in townships:
                p.add(file, where, f"member '{m}' is not a township-level place",
                      f"set level=township for it in {gaz}, or draw with method landmarks")
    elif d.method == "landmarks" and not e.members:
        p.add(file, where, "method landmarks needs members", "list the places it covers")
    elif d.method == "corridor":
        if bool(d.waypoints) == bool(d.feature):
            p.add(file, where, "method corridor needs either waypoints or feature", "give one of them")
        if d.waypoints is not None and len(d.waypoints) < 2:
            p.add(file, where, "a corridor needs at least two waypoints", "add the places it runs through, in order")
        for w in d.waypoints or []:
            if w not in places:
                p.add(file, where, f"unknown waypoint '{w}'", f"add '{w}' to {gaz} or correct the name")
    elif d.method == "node":
        at = d.at or (e.members[0] if e.members else None)
        if at is None:
            p.add(file, where, "method node needs draw.at or a member", "name the place the node stands at")
        elif at not in places:
            p.add(file, where, f"unknown node place '{at}'", f"add '{at}' to {gaz} or correct the name")
    if d.method in ("corridor", "feature") and d.feature is not None and d.feature not in features:
        p.add(file, where, f"unknown feature '{d.feature}'",
              f"add it to data/features/{adcode}.geojson or correct the id")
    if d.method == "feature" and d.feature is None:
        p.add(file, where, "method feature needs draw.feature", "give the feature id")


def category_label(category: str) -> str:
    """The category as a planner reads it (``other`` -> 其他)."""
    return CATEGORY_LABELS.get(category, category)


def element_id(adcode: str, structure: str, element: str) -> str:
    """Stable feature id, e.g. ``360104-layout-core``."""
    return f"{adcode}-{structure}-{element}"

