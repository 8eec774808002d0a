"""Routing: which department handles a request, who else hears of it. Pure: the catalog is passed in.

Rules (docs/dispatch.md):
- a home service goes to its catalog department; the delivery kind (government / community /
  provider) is recorded;
- a 365 case goes to its lead department with the catalog's co-departments;
- a 365 case in a known grid is "street-level": the street office of that grid's street gets an
  information copy (属地管理: street offices are responsible for first response in their area);
- unclear parses (confidence below the threshold), 「都不是」 (no item) and MS99 go to the dispatch
  center LDZX, whose operators assign a department by buttons (跨出一步).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from catalog.model import CATCH_ALL_CASE_TYPE, DISPATCH_CENTER, CaseType, Catalog, Service

MAX_RETURNS_BEFORE_BINDING = 2
"""After this many returns the center's next assignment binds: that department cannot return it again."""


@dataclass(frozen=True, slots=True)
class Route:
    """Where a new case goes. ``via_center`` means the dispatch center must pick the department."""

    department: str
    co_departments: tuple[str, ...] = ()
    delivery: str | None = None
    street: str | None = None
    community: str | None = None
    grid: str | None = None
    inform_office: str | None = None
    via_center: bool = False
    reason: str = "catalog"


def locate(catalog: Catalog, grid: str | None, community: str | None = None) -> tuple[str | None, ...]:
    """(grid, community, street) with whatever the grid or community code tells; unknown codes → None."""
    if grid and grid in catalog.grids:
        g = catalog.grids[grid]
        return grid, g.community, g.street
    if community and community in catalog.communities:
        return None, community, catalog.communities[community].street
    return None, None, None


def route(
    catalog: Catalog,
    item: Service | CaseType | None,
    *,
    grid: str | None = None,
    community: str | None = None,
    confidence: float | None = None,
    low_confidence: float = 0.45,
) -> Route:
    """Decide the department for a new request (see the module docstring for the rules)."""
    g, c, s = locate(catalog, grid, community)
    base = Route(DISPATCH_CENTER, grid=g, community=c, street=s)
    if item is None:
        return replace(base, via_center=True, reason="none_of_these")
    if confidence is not None and confidence < low_confidence:
        return replace(base, via_center=True, reason="unclear")
    if isinstance(item, Service):
        return replace(base, department=item.department, delivery=str(item.delivery))
    if item.code == CATCH_ALL_CASE_TYPE or item.department == DISPATCH_CENTER:
        return replace(base, via_center=True, reason="catch_all")
    office = catalog.streets[s].office if s else None
    if office in (item.department, *item.co_departments):
        office = None  # it already handles the case; no separate information copy
    return replace(
        base, department=item.department, co_departments=tuple(item.co_departments), inform_office=office
    )


def suggested_departments(catalog: Catalog, code: str, street: str | None = None) -> list[str]:
    """Departments the center is offered first when it assigns a case (catalog lead, co, street office)."""
    found: list[str] = []
    item = catalog.services.get(code) or catalog.case_types.get(code)
    if isinstance(item, Service):
        found.append(item.department)
    elif isinstance(item, CaseType):
        found += [item.department, *item.co_departments]
    if street and street in catalog.streets:
        found.append(catalog.streets[street].office)
    return [d for d in dict.fromkeys(found) if d != DISPATCH_CENTER and d in catalog.departments]


def assignable_departments(catalog: Catalog) -> list[str]:
    """Every department the center may assign to (all but itself), in catalog order."""
    return [code for code in catalog.departments if code != DISPATCH_CENTER]
