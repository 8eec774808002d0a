"""Extra training examples: the catalog's own names, keywords and descriptions, and noised copies
of the training sentences as a speech recognizer would print them."""

from __future__ import annotations

import random
from collections.abc import Sequence

from catalog.model import Catalog
from nlu.asr_noise import TRAIN_NOISE, AsrNoise
from nlu.parse import NONE_INTENT
from nlu.training_data import Example

NOISE_SEED = 0


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


def noised_examples(examples: Sequence[Example], share: float, seed: int = NOISE_SEED) -> list[Example]:
    """Recognizer-like copies (homophones, near sounds, lost punctuation) of a random `share` of the
    in-scope examples; out-of-scope ones are left alone so that noise itself does not mean "none"."""
    if share <= 0:
        return []
    pick = random.Random(seed)
    noise = AsrNoise(TRAIN_NOISE, seed)
    return [
        Example(noise(e.text), e.label, source="asr_noise")
        for e in examples
        if e.label != NONE_INTENT and pick.random() < share
    ]
