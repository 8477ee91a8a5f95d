"""The options of a drop-down or radio list, in the shape wtforms supports (SelectChoice): wtforms 3.3 warns
on (value, label) tuples on every form built and drops them in 3.4."""
from __future__ import annotations

from collections.abc import Iterable

from wtforms import SelectChoice


def options(pairs: Iterable[tuple[object, object]]) -> list[SelectChoice]:
    """[(value, label), ...] as SelectChoice; the label may be a lazy translation, shown in the reader's language."""
    return [SelectChoice(value, label) for value, label in pairs]


def offered_values(choices: Iterable[SelectChoice]) -> set:
    return {choice.value for choice in choices}
