"""Load and validate the four catalog YAML files into a :class:`catalog.model.Catalog`."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml

from catalog.model import (
    SLOT_ORDER,
    CaseGroup,
    CaseType,
    Catalog,
    Category,
    Community,
    Delivery,
    Department,
    DepartmentKind,
    Fee,
    Grid,
    Service,
    Severity,
    Street,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
FILES = ("departments.yml", "services.yml", "cases365.yml", "grid.yml")

# The district's published sizes; a catalog edit that changes them is almost certainly a mistake.
EXPECTED_COUNTS = {
    "departments": 29,
    "categories": 8,
    "services": 280,
    "case_groups": 12,
    "case_types": 63,
    "streets": 6,
    "communities": 54,
    "grids": 159,
}

_DEPT_RE = re.compile(r"^[A-Z]{2,4}$")
_TWO_LETTERS = re.compile(r"^[A-Z]{2}$")
_SERVICE_RE = re.compile(r"^[A-Z]{2}\d{3}$")
_CASE_TYPE_RE = re.compile(r"^[A-Z]{2}\d{2}$")
_COMMUNITY_RE = re.compile(r"^[A-Z]{2}\d{2}$")
_GRID_RE = re.compile(r"^[A-Z]{2}\d{2}-\d+$")

E = TypeVar("E")

# libyaml's loader is ~10x faster than the pure-Python one; both are "safe".
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CatalogError(ValueError):
    """The catalog is broken; the message names the file, the entry (code) and the field."""

    def __init__(self, file: str, entry: str, field: str, problem: str) -> None:
        self.file, self.entry, self.field, self.problem = file, entry, field, problem
        super().__init__(f"{file}: entry {entry}: field {field!r}: {problem}")


class _Reader:
    """Typed field access on one YAML mapping that reports errors with file/entry/field."""

    def __init__(self, file: str, raw: object, entry: str) -> None:
        self.file = file
        if not isinstance(raw, dict):
            raise CatalogError(file, entry, "-", f"expected a mapping, got {type(raw).__name__}")
        self.raw: dict[str, Any] = raw
        self.entry = entry
        code = raw.get("code")
        if isinstance(code, str):
            self.entry = code

    def fail(self, field: str, problem: str) -> CatalogError:
        return CatalogError(self.file, self.entry, field, problem)

    def _get(self, field: str) -> Any:
        if field not in self.raw or self.raw[field] is None:
            raise self.fail(field, "missing required field")
        return self.raw[field]

    def text(self, field: str, pattern: re.Pattern[str] | None = None) -> str:
        value = self._get(field)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, f"expected a non-empty string, got {value!r}")
        if pattern is not None and not pattern.match(value):
            raise self.fail(field, f"{value!r} does not match the format {pattern.pattern}")
        return value

    def hours(self, field: str) -> float:
        value = self._get(field)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.fail(field, f"expected a positive number of hours, got {value!r}")
        return float(value)

    def enum(self, field: str, enum: Callable[[str], E], allowed: list[str]) -> E:
        value = self._get(field)
        if value not in allowed:
            raise self.fail(field, f"{value!r} is not one of {allowed}")
        return enum(value)

    def strings(
        self, field: str, *, required: bool = True, pattern: re.Pattern[str] | None = None
    ) -> tuple[str, ...]:
        if not required and self.raw.get(field) is None:
            return ()
        value = self._get(field)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(field, f"expected a list of strings, got {value!r}")
        if pattern is not None:
            for v in value:
                if not pattern.match(v):
                    raise self.fail(field, f"{v!r} does not match the format {pattern.pattern}")
        return tuple(value)


def _entries(file: str, doc: dict[str, Any], key: str) -> list[object]:
    items = doc.get(key)
    if not isinstance(items, list) or not items:
        raise CatalogError(file, "-", key, "missing or empty list")
    return items


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except FileNotFoundError:
        raise CatalogError(path.name, "-", "-", f"file not found at {path}") from None
    except yaml.YAMLError as exc:
        raise CatalogError(path.name, "-", "-", f"not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise CatalogError(path.name, "-", "-", "top level must be a mapping")
    return doc


def _slots(r: _Reader) -> tuple[str, ...]:
    slots = r.strings("slots", required=False)
    unknown = [s for s in slots if s not in SLOT_ORDER]
    if unknown:
        raise r.fail("slots", f"unknown slot(s) {unknown}; allowed: {list(SLOT_ORDER)}")
    positions = [SLOT_ORDER.index(s) for s in slots]
    if positions != sorted(set(positions)):
        raise r.fail("slots", f"{list(slots)} must be unique and in the order {list(SLOT_ORDER)}")
    return slots


def _parse(data_dir: Path) -> Catalog:
    docs = {name: _read_yaml(data_dir / name) for name in FILES}
    seen: dict[str, str] = {}

    def claim(file: str, code: str) -> None:
        if code in seen:
            raise CatalogError(file, code, "code", f"duplicate code (already used in {seen[code]})")
        seen[code] = file

    f = "departments.yml"
    departments: dict[str, Department] = {}
    for i, raw in enumerate(_entries(f, docs[f], "departments")):
        r = _Reader(f, raw, f"#{i + 1}")
        code = r.text("code", _DEPT_RE)
        claim(f, code)
        kinds = [k.value for k in DepartmentKind]
        departments[code] = Department(
            code, r.text("name"), r.enum("kind", DepartmentKind, kinds), r.text("duties")
        )

    def dept_ref(r: _Reader, field: str, code: str) -> str:
        if code not in departments:
            raise r.fail(field, f"unknown department {code!r}")
        return code

    f = "services.yml"
    categories: dict[str, Category] = {}
    for i, raw in enumerate(_entries(f, docs[f], "categories")):
        r = _Reader(f, raw, f"category #{i + 1}")
        code = r.text("code", _TWO_LETTERS)
        claim(f, code)
        categories[code] = Category(
            code, r.text("name"), dept_ref(r, "lead_department", r.text("lead_department"))
        )
    services: dict[str, Service] = {}
    for i, raw in enumerate(_entries(f, docs[f], "services")):
        r = _Reader(f, raw, f"service #{i + 1}")
        code = r.text("code", _SERVICE_RE)
        claim(f, code)
        category = r.text("category")
        if category not in categories:
            raise r.fail("category", f"unknown category {category!r}")
        if not code.startswith(category):
            raise r.fail("code", f"must start with its category code {category!r}")
        services[code] = Service(
            code=code,
            name=r.text("name"),
            category=category,
            department=dept_ref(r, "department", r.text("department")),
            delivery=r.enum("delivery", Delivery, [d.value for d in Delivery]),
            fee=r.enum("fee", Fee, [x.value for x in Fee]),
            eligibility=r.text("eligibility"),
            sla_hours=r.hours("sla_hours"),
            slots=_slots(r),
            description=r.text("description"),
            keywords=r.strings("keywords"),
        )

    f = "cases365.yml"
    groups: dict[str, CaseGroup] = {}
    for i, raw in enumerate(_entries(f, docs[f], "groups")):
        r = _Reader(f, raw, f"group #{i + 1}")
        code = r.text("code", _TWO_LETTERS)
        claim(f, code)
        groups[code] = CaseGroup(code, r.text("name"))
    case_types: dict[str, CaseType] = {}
    for i, raw in enumerate(_entries(f, docs[f], "case_types")):
        r = _Reader(f, raw, f"case type #{i + 1}")
        code = r.text("code", _CASE_TYPE_RE)
        claim(f, code)
        group = r.text("group")
        if group not in groups:
            raise r.fail("group", f"unknown group {group!r}")
        if not code.startswith(group):
            raise r.fail("code", f"must start with its group code {group!r}")
        co = r.strings("co_departments", required=False)
        for c in co:
            dept_ref(r, "co_departments", c)
        response, resolve = r.hours("response_hours"), r.hours("resolve_hours")
        if resolve < response:
            raise r.fail("resolve_hours", f"{resolve} is shorter than response_hours {response}")
        case_types[code] = CaseType(
            code=code,
            name=r.text("name"),
            group=group,
            department=dept_ref(r, "department", r.text("department")),
            co_departments=co,
            severity=r.enum("severity", Severity, [s.value for s in Severity]),
            response_hours=response,
            resolve_hours=resolve,
            keywords=r.strings("keywords"),
        )

    f = "grid.yml"
    streets: dict[str, Street] = {}
    communities: dict[str, Community] = {}
    grids: dict[str, Grid] = {}
    for i, raw in enumerate(_entries(f, docs[f], "streets")):
        r = _Reader(f, raw, f"street #{i + 1}")
        street_code = r.text("code", _TWO_LETTERS)
        claim(f, street_code)
        office = dept_ref(r, "office", r.text("office"))
        if departments[office].kind is not DepartmentKind.STREET:
            raise r.fail("office", f"{office!r} is not a street office")
        community_codes: list[str] = []
        for j, craw in enumerate(_entries(f, r.raw, "communities")):
            cr = _Reader(f, craw, f"{street_code} community #{j + 1}")
            ccode = cr.text("code", _COMMUNITY_RE)
            claim(f, ccode)
            if not ccode.startswith(street_code):
                raise cr.fail("code", f"must start with its street code {street_code!r}")
            grid_codes = cr.strings("grids", pattern=_GRID_RE)
            for g in grid_codes:
                if not g.startswith(ccode + "-"):
                    raise cr.fail("grids", f"grid {g!r} must start with {ccode + '-'!r}")
                claim(f, g)
                grids[g] = Grid(g, ccode, street_code)
            communities[ccode] = Community(ccode, cr.text("name"), street_code, grid_codes)
            community_codes.append(ccode)
        streets[street_code] = Street(street_code, r.text("name"), office, tuple(community_codes))

    catalog = Catalog(
        departments=departments,
        categories=categories,
        services=services,
        case_groups=groups,
        case_types=case_types,
        streets=streets,
        communities=communities,
        grids=grids,
        sample_grid=bool(docs["grid.yml"].get("sample", False)),
    )
    for attr, expected in EXPECTED_COUNTS.items():
        actual = len(getattr(catalog, attr))
        if actual != expected:
            file = {
                "departments": "departments.yml",
                "case_groups": "cases365.yml",
                "case_types": "cases365.yml",
            }.get(attr, "grid.yml" if attr in ("streets", "communities", "grids") else "services.yml")
            raise CatalogError(file, "-", attr, f"expected {expected} entries, found {actual}")
    return catalog


@lru_cache(maxsize=1)
def _default_catalog() -> Catalog:
    return _parse(DATA_DIR)


def load_catalog(path: Path | None = None) -> Catalog:
    """Load and validate the catalog from ``path`` (a folder with the four YAML files).

    Without ``path`` the project's ``catalog/data`` is loaded once per process and cached.
    Raises :class:`CatalogError` naming file, entry and field on the first problem found.
    """
    if path is None:
        return _default_catalog()
    return _parse(Path(path))
