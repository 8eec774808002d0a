"""The quality gate of the issue, on messages the model has never seen (tests/nlu/heldout/*.yml)."""

import pytest

from nlu.embedded import default_parser
from nlu.evaluation import Report, evaluate
from nlu.paths import HELDOUT_DIR
from nlu.training_data import read_dir

TOP1, TOP3, NONE_RECALL = 0.90, 0.97, 0.90


@pytest.fixture(scope="module")
def report() -> Report:
    examples = read_dir(HELDOUT_DIR, reader="examples") if HELDOUT_DIR.exists() else []
    if not examples:
        pytest.skip("no held-out test files in tests/nlu/heldout/")
    return evaluate(default_parser().parse_sync, examples)


def test_catalog_top1(report: Report) -> None:
    assert report.catalog_top1 >= TOP1, "\n".join(report.lines())


def test_catalog_top3(report: Report) -> None:
    assert report.catalog_top3 >= TOP3, "\n".join(report.lines())


def test_none_recall(report: Report) -> None:
    if report.none_n == 0:
        pytest.skip("the held-out files have no out-of-scope items yet")
    assert report.none_recall >= NONE_RECALL, "\n".join(report.lines())
