"""One part of the inspector's binder: a titled table, and the deficiencies it found. Each compliance area
(certificates, required activities, rounds and test records, permits and interruptions) gives its own parts;
dispatch/services/binder.py puts them in one PDF and one XLSX."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class BinderSection:
    title: str  # already in the reader's language
    columns: list[str]  # already in the reader's language
    rows: list[list[str | int | float | None]]
    # Deficiencies found in the period: what failed or was late/missed, and the corrective ticket's outcome.
    deficiencies: list[list[str | int | float | None]] = field(default_factory=list)
    deficiency_columns: list[str] = field(default_factory=list)
    summary: str = ""  # one line, e.g. "12 of 13 on time (92%)"
