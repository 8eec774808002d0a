"""Typed, immutable model of the district catalog (departments, services, 365 case types, grid)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

SLOT_ORDER: tuple[str, ...] = (
    "address",
    "phone",
    "time",
    "person",
    "age",
    "id_number",
    "description",
    "photo",
)
"""Every detail a service may ask for, in the order the catalog lists (and the bot asks) them."""


class DepartmentKind(StrEnum):
    BUREAU = "bureau"
    STREET = "street"
    CENTER = "center"
    PROVIDER = "provider"


class Delivery(StrEnum):
    GOVERNMENT = "government"
    COMMUNITY = "community"
    PROVIDER = "provider"


class Fee(StrEnum):
    FREE = "free"
    SUBSIDIZED = "subsidized"
    PAID = "paid"


class Severity(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"
    EMERGENCY = "emergency"


DISPATCH_CENTER = "LDZX"
"""Code of the 社会服务管理联动处置中心, which takes every case no department clearly owns."""

CATCH_ALL_CASE_TYPE = "MS99"
"""Code of the 其他问题 case type, always routed to the dispatch center."""


@dataclass(frozen=True, slots=True)
class Department:
    """A handling unit: a bureau, a street office, the dispatch center or a provider kind."""

    code: str
    name: str
    kind: DepartmentKind
    duties: str


@dataclass(frozen=True, slots=True)
class Category:
    """One of the eight 居家无忧 service categories."""

    code: str
    name: str
    lead_department: str


@dataclass(frozen=True, slots=True)
class Service:
    """A 居家无忧 home service. ``sla_hours`` is the time to first response or appointment."""

    code: str
    name: str
    category: str
    department: str
    delivery: Delivery
    fee: Fee
    eligibility: str
    sla_hours: float
    slots: tuple[str, ...]
    description: str
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CaseGroup:
    """A group of 平安365 case types (环境卫生, 市容秩序, ...)."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class CaseType:
    """A 平安365 case type; ``department`` leads, ``co_departments`` handle jointly."""

    code: str
    name: str
    group: str
    department: str
    co_departments: tuple[str, ...]
    severity: Severity
    response_hours: float
    resolve_hours: float
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Grid:
    """The smallest unit a grid worker (网格员) covers, such as ``HB01-1``."""

    code: str
    community: str
    street: str


@dataclass(frozen=True, slots=True)
class Community:
    code: str
    name: str
    street: str
    grids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Street:
    """A street (街道); ``office`` is the department code of its street office."""

    code: str
    name: str
    office: str
    communities: tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    """The whole catalog with lookups by code. Build it with :func:`catalog.loader.load_catalog`."""

    departments: dict[str, Department]
    categories: dict[str, Category]
    services: dict[str, Service]
    case_groups: dict[str, CaseGroup]
    case_types: dict[str, CaseType]
    streets: dict[str, Street]
    communities: dict[str, Community]
    grids: dict[str, Grid]
    sample_grid: bool = True
    _community_names: dict[str, Community] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._community_names.update({c.name: c for c in self.communities.values()})

    def service_or_case(self, code: str) -> Service | CaseType:
        """Return the service or the case type with this code; ``KeyError`` when neither exists."""
        found = self.services.get(code) or self.case_types.get(code)
        if found is None:
            raise KeyError(code)
        return found

    def is_service(self, code: str) -> bool:
        return code in self.services

    def is_case_type(self, code: str) -> bool:
        return code in self.case_types

    def department(self, code: str) -> Department:
        return self.departments[code]

    def community_by_name(self, name: str) -> Community | None:
        """Find a community by its full name (``东坡路社区``) or without the 社区 suffix (``东坡路``)."""
        name = name.strip()
        return self._community_names.get(name) or self._community_names.get(name + "社区")

    def street_of(self, grid_or_community_code: str) -> Street:
        """The street that holds a grid (``HB01-1``) or a community (``HB01``)."""
        grid = self.grids.get(grid_or_community_code)
        if grid is not None:
            return self.streets[grid.street]
        return self.streets[self.communities[grid_or_community_code].street]

    def community_of(self, grid_code: str) -> Community:
        return self.communities[self.grids[grid_code].community]

    def street_office(self, street_code: str) -> Department:
        """The street office (街道办事处) department of a street."""
        return self.departments[self.streets[street_code].office]

    def services_in(self, category_code: str) -> list[Service]:
        return [s for s in self.services.values() if s.category == category_code]

    def case_types_in(self, group_code: str) -> list[CaseType]:
        return [c for c in self.case_types.values() if c.group == group_code]
