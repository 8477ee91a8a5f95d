"""Names the hospital gives in English and Chinese: one rule for which one a reader sees, in Python and in SQL.

A model that has such a name mixes in `Bilingual` and adds a `<field>_zh` column beside its `<field>`
(`name`/`name_zh`, `title`/`title_zh`, `text`/`text_zh`). `<field>` is never empty: when the hospital gives
only the Chinese name, it stands in both (`both_names`), so codes, uniqueness and old queries keep working.
A Chinese reader sees the Chinese name, else the English one; an English reader sees the English one
(which is the Chinese one when that was all that was given).
"""
from __future__ import annotations

from typing import ClassVar

from flask_babel import get_locale
from sqlalchemy import func, literal_column
from sqlalchemy.ext.hybrid import hybrid_property


def is_chinese(language) -> bool:
    return str(language or "").startswith("zh")


def reader_language() -> str:
    """The language of the page or SMS being made (Flask-Babel's locale, forced per recipient for SMS)."""
    return str(get_locale() or "en")


def name_in(english: str | None, chinese: str | None, language) -> str:
    """The one rule, for values already at hand (a row of a report query, a snapshot)."""
    if is_chinese(language):
        return chinese or english or ""
    return english or chinese or ""


def both_names(english: str | None, chinese: str | None) -> tuple[str, str | None]:
    """What to store from a form or the API: (`field`, `field_zh`); the caller has checked one is given."""
    english, chinese = (english or "").strip(), (chinese or "").strip() or None
    return english or chinese or "", chinese


class Bilingual:
    """Mixed into a model whose `bilingual_field` (default `name`) has a `_zh` column beside it."""

    bilingual_field: ClassVar[str] = "name"

    def name_for(self, language) -> str:
        field = self.bilingual_field
        return name_in(getattr(self, field), getattr(self, f"{field}_zh"), language)

    @hybrid_property
    def display_name(self) -> str:
        """The name in the reader's language, falling back to the other."""
        return self.name_for(reader_language())

    @display_name.inplace.expression
    @classmethod
    def _display_name_expression(cls):
        # The same rule as name_in for ORDER BY and search: `field` is never empty, so it is the fallback.
        # '' is written into the SQL, not bound: the expression must read the same in SELECT and GROUP BY
        # (PostgreSQL compares their text, and two bound parameters never match).
        english = getattr(cls, cls.bilingual_field)
        if is_chinese(reader_language()):
            return func.coalesce(func.nullif(getattr(cls, f"{cls.bilingual_field}_zh"), literal_column("''")), english)
        return english

    @property
    def english_name(self) -> str:
        """The English name as a form shows it: blank when only the Chinese one was given."""
        field = self.bilingual_field
        english, chinese = getattr(self, field), getattr(self, f"{field}_zh")
        return "" if chinese and english == chinese else english
