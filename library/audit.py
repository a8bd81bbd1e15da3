"""The audit log: every staff action worth reviewing is recorded in the same transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from library import clock
from library.models import AuditEntry, StaffUser


def record(
    session: Session,
    *,
    action: str,
    staff: StaffUser | None = None,
    actor: str = "",
    target_type: str = "",
    target_id: Any = "",
    branch_id: int | None = None,
    details: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> AuditEntry:
    """Append an audit entry (who, what, when, where). ``actor`` names non-staff actors
    such as ``kiosk:K01`` or ``scheduler``."""
    entry = AuditEntry(
        at=now or clock.now(),
        staff_id=staff.id if staff is not None else None,
        actor=actor or (staff.username if staff is not None else ""),
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id != "" else "",
        branch_id=branch_id,
        details=details or {},
    )
    session.add(entry)
    return entry
