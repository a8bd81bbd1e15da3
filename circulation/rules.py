"""The rules matrix: the most specific rule matching (branch, reader category, item type) wins.
A branch-specific rule beats a category-specific one, which beats an item-type-specific one;
``None`` matches anything. Default rows are seeded and editable by admins."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from circulation.errors import RuleConflict, RuleInvalid
from circulation.models import CONSEQUENCES, CirculationRule

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


_RULES_FOR_SCOPE = select(CirculationRule).where(  # built once (see circulation.common)
    or_(CirculationRule.branch_id.is_(None), CirculationRule.branch_id == bindparam("branch_id")),
    or_(CirculationRule.reader_category_code.is_(None), CirculationRule.reader_category_code == bindparam("category")),
    or_(CirculationRule.item_type_code.is_(None), CirculationRule.item_type_code == bindparam("item_type")),
)


def find_rule(session: Session, *, branch_id: int | None, category: str | None,
              item_type: str | None) -> CirculationRule:
    """The most specific rule for the scope (one query)."""
    return pick_rule(list(session.scalars(_RULES_FOR_SCOPE, {"branch_id": branch_id, "category": category,
                                                             "item_type": item_type})))


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
