"""Extra training examples taken from the catalog itself: names, keywords and descriptions."""

from __future__ import annotations

from catalog.model import Catalog
from nlu.training_data import Example


def catalog_examples(catalog: Catalog) -> list[Example]:
    """A few short examples per catalog code, so that every code has its own words in the model."""
    out: list[Example] = []
    for s in catalog.services.values():
        texts = [s.name, s.description, f"{s.name} {' '.join(s.keywords)}", *s.keywords]
        out.extend(Example(t, s.code, source="catalog") for t in texts if t)
    for c in catalog.case_types.values():
        group = catalog.case_groups[c.group].name
        texts = [c.name, f"{c.name} {' '.join(c.keywords)}", f"{group} {c.name}", *c.keywords]
        out.extend(Example(t, c.code, source="catalog") for t in texts if t)
    return out
