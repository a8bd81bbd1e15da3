"""The rules matrix: the most specific rule matching (branch, reader category, item type) wins.
A branch-specific rule beats a category-specific one, which beats an item-type-specific one;
``None`` matches anything. Default rows are seeded and editable by admins."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from circulation.calendar import CONFIG_GROUP
from circulation.errors import RuleConflict, RuleInvalid
from circulation.models import CONSEQUENCES, CirculationRule
from library.config_cache import UNKNOWN, VersionedCache
from library.db import table_of

# Seeded defaults (scope, values). Many Chinese public libraries suspend rather than fine (以停代金).
DEFAULT_RULES: list[tuple[str | None, str | None, dict[str, Any]]] = [
    (None, None, {"loan_days": 30, "renewals": 1, "max_items": 10, "max_holds": 5, "grace_days": 3,
                  "consequence": "suspension", "suspension_factor": Decimal("1"), "max_suspension_days": 90,
                  "hold_shelf_days": 7, "charge_limit": Decimal("10.00"), "note": "默认规则"}),
    ("child", None, {"loan_days": 30, "renewals": 1, "max_items": 5, "max_holds": 3, "grace_days": 7,
                     "consequence": "suspension", "hold_shelf_days": 7, "note": "少儿读者"}),
    ("senior", None, {"loan_days": 45, "renewals": 2, "max_items": 10, "max_holds": 5, "grace_days": 7,
                      "consequence": "suspension", "hold_shelf_days": 10, "note": "老年读者：借期更长"}),
    ("visually_impaired", None, {"loan_days": 60, "renewals": 3, "max_items": 10, "max_holds": 5,
                                 "grace_days": 14, "consequence": "suspension", "hold_shelf_days": 14,
                                 "note": "视障读者"}),
    ("staff", None, {"loan_days": 60, "renewals": 2, "max_items": 20, "max_holds": 10, "grace_days": 0,
                     "consequence": "suspension", "hold_shelf_days": 7, "note": "馆员"}),
    (None, "periodical", {"loan_days": 14, "renewals": 0, "max_items": 10, "max_holds": 5, "grace_days": 0,
                          "consequence": "fine", "fine_per_day": Decimal("0.10"), "fine_cap": Decimal("5.00"),
                          "hold_shelf_days": 5, "note": "期刊：14 天，不续借，按日收滞纳金"}),
    (None, "av", {"loan_days": 14, "renewals": 1, "max_items": 10, "max_holds": 5, "grace_days": 0,
                  "consequence": "fine", "fine_per_day": Decimal("0.50"), "fine_cap": Decimal("20.00"),
                  "hold_shelf_days": 5, "note": "音像资料"}),
]

RULE_FIELDS = ("loan_days", "renewals", "max_items", "max_holds", "grace_days", "consequence", "fine_per_day",
               "fine_cap", "suspension_factor", "max_suspension_days", "hold_shelf_days", "charge_limit", "note")


def seed_rules(session: Session) -> None:
    """Insert the default rules that are missing (idempotent)."""
    for category, item_type, values in DEFAULT_RULES:
        key = CirculationRule.make_scope_key(None, category, item_type)
        if session.scalar(select(CirculationRule.id).where(CirculationRule.scope_key == key)) is None:
            session.add(CirculationRule(scope_key=key, branch_id=None, reader_category_code=category,
                                        item_type_code=item_type, **values))
    session.flush()


def fallback_rule() -> CirculationRule:
    """The rule used when the matrix is empty (an admin deleted every row): unsaved defaults."""
    values = dict(DEFAULT_RULES[0][2])
    return CirculationRule(scope_key="*|*|*", **{
        "fine_per_day": Decimal("0.10"), "fine_cap": Decimal("20.00"), **values})


def pick_rule(rules: list[CirculationRule]) -> CirculationRule:
    if not rules:
        return fallback_rule()
    return max(rules, key=lambda r: (r.specificity(), -r.id))


_ALL_RULES = select(table_of(CirculationRule))


def _load_matrix(session: Session) -> tuple[dict[str, Any], ...]:
    return tuple(dict(row) for row in session.connection().execute(_ALL_RULES).mappings())


# The whole matrix (a few dozen rows) in each process, read again when a rule changes.
MATRIX: VersionedCache[tuple[dict[str, Any], ...]] = VersionedCache(CONFIG_GROUP, _load_matrix)


def find_rule(session: Session, *, branch_id: int | None, category: str | None,
              item_type: str | None, version: int | None = UNKNOWN) -> CirculationRule:
    """The most specific rule for the scope, from the process's copy of the matrix (checked
    against the configuration token: ``version`` when the caller has read it in this
    transaction, else one small query). The rule returned is a new unsaved object with the
    stored rule's values and id: read it, never add it to a session."""
    matching = [CirculationRule(**row) for row in MATRIX.get(session, version)
                if row["branch_id"] in (None, branch_id) and row["reader_category_code"] in (None, category)
                and row["item_type_code"] in (None, item_type)]
    return pick_rule(matching)


def save_rule(session: Session, *, rule: CirculationRule | None = None, branch_id: int | None,
              category: str | None, item_type: str | None, values: dict[str, Any]) -> CirculationRule:
    """Create or update a rule of the matrix. Raises RuleInvalid when the scope is taken by
    another rule or a value is out of range."""
    key = CirculationRule.make_scope_key(branch_id, category, item_type)
    other = session.scalar(select(CirculationRule).where(CirculationRule.scope_key == key))
    if other is not None and other is not rule:
        raise RuleConflict()
    if values.get("consequence") not in CONSEQUENCES:
        raise RuleInvalid(detail="consequence")
    for name in ("loan_days", "hold_shelf_days"):
        if int(values.get(name) or 0) <= 0:
            raise RuleInvalid(detail=name)
    if rule is None:
        rule = CirculationRule(scope_key=key)
        session.add(rule)
    rule.scope_key = key
    rule.branch_id = branch_id
    rule.reader_category_code = category
    rule.item_type_code = item_type
    for name in RULE_FIELDS:
        if name in values:
            setattr(rule, name, values[name])
    session.flush()
    return rule
