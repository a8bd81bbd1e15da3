"""Default item types (configurable afterwards by admins)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from catalog.models import ItemType

ITEM_TYPES = [
    ("book", "图书", "Book", True, 1),
    ("children", "少儿图书", "Children's book", True, 2),
    ("periodical", "期刊", "Periodical", True, 3),
    ("av", "音像资料", "Audio-visual", True, 4),
    ("reference", "工具书", "Reference (not for loan)", False, 5),
    ("ancient", "古籍", "Ancient book (never lent)", False, 6),
]


def seed_item_types(session: Session) -> None:
    for code, name, name_en, loanable, order in ITEM_TYPES:
        if session.get(ItemType, code) is None:
            session.add(ItemType(code=code, name=name, name_en=name_en, loanable=loanable, sort_order=order))
    session.flush()
