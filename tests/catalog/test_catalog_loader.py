"""The real catalog loads; a broken copy names the file, the entry and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from catalog.loader import DATA_DIR, CatalogError, load_catalog
from catalog.model import DepartmentKind


def test_real_catalog_loads_with_the_district_counts() -> None:
    c = load_catalog()
    assert (len(c.services), len(c.case_types), len(c.departments), len(c.grids)) == (280, 63, 29, 159)
    assert (len(c.streets), len(c.communities), len(c.categories), len(c.case_groups)) == (6, 54, 8, 12)
    assert load_catalog() is c  # cached per process
    assert c.service_or_case("YL001").name == "老年助餐送餐"
    assert c.service_or_case("HJ01").department == "CGJ"
    with pytest.raises(KeyError):
        c.service_or_case("ZZ999")
    assert c.case_types["MS99"].department == "LDZX"
    assert c.street_of("HB01-1").code == "HB" and c.street_of("HB01").code == "HB"
    assert c.street_office("HB").kind is DepartmentKind.STREET
    hb01 = c.community_by_name("东坡路")
    assert hb01 is not None and hb01 == c.community_by_name("东坡路社区") and c.community_of("HB01-2") == hb01
    assert len(c.services_in("YL")) == 35 and c.case_types_in("HJ")


def _broken_copy(tmp_path: Path, file: str, edit) -> Path:  # type: ignore[no-untyped-def]
    for name in DATA_DIR.glob("*.yml"):
        shutil.copy(name, tmp_path / name.name)
    doc = yaml.load((tmp_path / file).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    edit(doc)
    (tmp_path / file).write_text(
        yaml.dump(doc, Dumper=yaml.CSafeDumper, allow_unicode=True), encoding="utf-8"
    )
    return tmp_path


def _set(section: str, index: int, field: str, value: object):  # type: ignore[no-untyped-def]
    def edit(doc: dict) -> None:  # type: ignore[type-arg]
        doc[section][index][field] = value

    return edit


def _drop(section: str, index: int, field: str):  # type: ignore[no-untyped-def]
    def edit(doc: dict) -> None:  # type: ignore[type-arg]
        del doc[section][index][field]

    return edit


@pytest.mark.parametrize(
    ("file", "edit", "entry", "field"),
    [
        ("services.yml", _set("services", 0, "department", "XXJ"), "YL001", "department"),
        ("services.yml", _drop("services", 1, "name"), "YL002", "name"),
        ("services.yml", _set("services", 0, "slots", ["phone", "address"]), "YL001", "slots"),
        ("services.yml", _set("services", 0, "slots", ["address", "shoe_size"]), "YL001", "slots"),
        ("services.yml", _set("services", 2, "fee", "cheap"), "YL003", "fee"),
        ("services.yml", _set("services", 2, "sla_hours", "soon"), "YL003", "sla_hours"),
        ("services.yml", _set("services", 3, "code", "YL01"), "YL01", "code"),
        ("services.yml", _set("services", 3, "code", "YL001"), "YL001", "code"),
        ("cases365.yml", _set("case_types", 0, "severity", "huge"), "HJ01", "severity"),
        ("cases365.yml", _set("case_types", 0, "co_departments", ["NOPE"]), "HJ01", "co_departments"),
        ("cases365.yml", _set("case_types", 0, "resolve_hours", 1), "HJ01", "resolve_hours"),
        ("departments.yml", _set("departments", 0, "kind", "ministry"), "MZJ", "kind"),
        ("grid.yml", _set("streets", 0, "office", "MZJ"), "HB", "office"),
    ],
)
def test_broken_catalog_names_file_entry_and_field(
    tmp_path: Path, file: str, edit, entry: str, field: str
) -> None:  # type: ignore[no-untyped-def]
    path = _broken_copy(tmp_path, file, edit)
    with pytest.raises(CatalogError) as err:
        load_catalog(path)
    assert (err.value.file, err.value.entry, err.value.field) == (file, entry, field)
    message = str(err.value)
    assert file in message and entry in message and field in message


def test_missing_count_is_reported(tmp_path: Path) -> None:
    def drop_last(doc: dict) -> None:  # type: ignore[type-arg]
        doc["case_types"].pop()

    with pytest.raises(CatalogError, match=r"cases365.yml.*case_types.*expected 63"):
        load_catalog(_broken_copy(tmp_path, "cases365.yml", drop_last))


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"departments\.yml"):
        load_catalog(tmp_path)
    for name in DATA_DIR.glob("*.yml"):
        shutil.copy(name, tmp_path / name.name)
    (tmp_path / "grid.yml").write_text("streets: [unclosed", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"grid.yml.*not valid YAML"):
        load_catalog(tmp_path)
