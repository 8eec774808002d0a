"""Hypothesis strategies for what a hostile or broken client sends."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

SQL = [
    "'; DROP TABLE cases; --",
    "1 OR 1=1",
    '" OR ""="',
    "SC-20260101-0001' UNION SELECT * FROM people --",
    "%' AND 1=CAST((SELECT version()) AS int) --",
    "Robert'); DELETE FROM outbox;--",
    "\\x00\\x1a' --",
]
CONTROL = "".join(chr(c) for c in [*range(0, 9), 11, 12, *range(14, 32), 127, 0x85, 0x202E, 0xFFFE])

# Text a person could never type and a script easily sends.
hostile_text = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=80),
    st.sampled_from(SQL),
    st.builds(lambda s, c: s + c, st.text(max_size=30), st.text(alphabet=CONTROL, min_size=1, max_size=5)),
    st.just("路灯坏了" * 2500),  # 10,000 characters
    st.integers(min_value=4001, max_value=12000).map(lambda n: "好" * n),
    st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
)

# Callback data the bot never drew: random, oversized, other people's case numbers, other actions.
forged_callback = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "ok",
            "redo",
            "ac|SC-20260101-0001",
            "bj|SC-20260101-0001",
            "asg|SC-20260101-0001|CGJ",
            "sv|SC-20260101-0001|5",
            "cx|SC-20991231-9999",
            "menu|../../etc",
            "skip|onboarding",
            "menu|overview",
            "|||",
            "a" * 64,
            "中" * 30,
        ]
    ),
    st.sampled_from(SQL),
)

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def not_an_update(draw: st.DrawFn) -> bytes:
    """A webhook body that is not a Telegram update."""
    kind = draw(st.sampled_from(["bytes", "truncated", "value", "no_id", "bad_id"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "truncated":
        whole = json.dumps({"update_id": 1, "message": {"text": draw(st.text(max_size=20))}})
        return whole[: draw(st.integers(0, len(whole) - 1))].encode()
    if kind == "value":
        return json.dumps(draw(json_values.filter(lambda v: not isinstance(v, dict)))).encode()
    if kind == "no_id":
        return json.dumps(
            draw(
                st.dictionaries(
                    st.text(max_size=8).filter(lambda k: k != "update_id"), json_values, max_size=4
                )
            )
        ).encode()
    return json.dumps(
        {
            "update_id": draw(
                st.one_of(st.text(max_size=5), st.floats(allow_nan=False), st.none(), st.booleans())
            ),
            "message": {},
        }
    ).encode()


user_ids = st.one_of(
    st.integers(min_value=1, max_value=2**40), st.integers(min_value=10**6, max_value=10**6 + 50)
)
