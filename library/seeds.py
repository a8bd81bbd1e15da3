"""Default reader categories (configurable afterwards by admins)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from library.models import ReaderCategory

READER_CATEGORIES = [
    ("adult", "成人读者", "Adult", 1),
    ("child", "少儿读者", "Child", 2),
    ("senior", "老年读者", "Senior", 3),
    ("visually_impaired", "视障读者", "Visually impaired", 4),
    ("staff", "馆员", "Staff", 5),
]


def seed_reader_categories(session: Session) -> None:
    for code, name, name_en, order in READER_CATEGORIES:
        if session.get(ReaderCategory, code) is None:
            session.add(ReaderCategory(code=code, name=name, name_en=name_en, sort_order=order))
    session.flush()
