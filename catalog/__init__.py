"""The district catalog: departments, 居家无忧 services, 平安365 case types and the grid."""

from catalog.loader import CatalogError, load_catalog
from catalog.model import CaseType, Catalog, Department, Service

__all__ = ["CaseType", "Catalog", "CatalogError", "Department", "Service", "load_catalog"]
