"""The holds pull list (取书单) of a branch: waiting holds that a copy standing on this branch's
open shelf can fill, for counter staff to fetch.

A copy is a candidate when it is available, of a loanable type, and its current branch is this
branch: for a title-level hold any such copy of the record, for an item-level hold that copy.
Holds are served first come, first served (``created_at``, then ``id``: the order
``circulation.holds.next_hold_for`` traps in), and each copy is counted once: with one copy on
the shelf and two readers waiting, only the first reader's hold is listed. A title-level hold
takes a copy that no item-level hold asks for when it can.

Scanning a pulled copy at the check-in page traps it for the first waiting hold it can fill
(check-in of a copy without a loan goes through ``circulation.holds.route_item``): the hold
shelf here, or a transit to the pickup branch.

``place_hold`` does not trap a copy standing on a shelf (the reader would be told "ready"
before anyone had fetched it): the hold waits here until the copy is pulled, as in Koha and
Evergreen.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from catalog.models import BibRecord, Item, ItemType
from circulation.models import Hold
from library.models import Branch


@dataclass
class Candidate:
    """A copy on this branch's shelf that can fill the hold."""

    id: int
    barcode: str
    call_number: str
    shelf_location: str


@dataclass
class PullLine:
    """One waiting hold to pull a copy for; ``copies`` are the candidates, the preferred first."""

    hold: Hold
    title: str
    pickup_branch: Branch
    placed_at: dt.datetime
    item_level: bool
    here: bool  # the reader collects at this branch (else the copy goes in transit)
    copies: list[Candidate] = field(default_factory=list)

    @property
    def call_number(self) -> str:
        return self.copies[0].call_number if self.copies else ""

    @property
    def shelf_location(self) -> str:
        return self.copies[0].shelf_location if self.copies else ""

    @property
    def barcodes(self) -> list[str]:
        return [c.barcode for c in self.copies]


@dataclass
class PullList:
    branch: Branch
    lines: list[PullLine]

    @property
    def count(self) -> int:
        return len(self.lines)

    @property
    def here_count(self) -> int:
        """Lines whose reader collects at this branch (the rest go in transit)."""
        return sum(1 for line in self.lines if line.here)


def _candidates(session: Session, branch_id: int) -> dict[int, list[Candidate]]:
    """Available loanable copies on this branch's shelf of records that have a waiting hold."""
    waiting_records = select(Hold.record_id).where(Hold.state == "waiting")
    rows = session.execute(
        select(Item.id, Item.barcode, Item.record_id, Item.call_number, BibRecord.call_number, Item.shelf_location)
        .join(ItemType, ItemType.code == Item.item_type_code).join(BibRecord, BibRecord.id == Item.record_id)
        .where(Item.current_branch_id == branch_id, Item.status == "available", ItemType.loanable.is_(True),
               Item.record_id.in_(waiting_records))
        .order_by(Item.record_id, Item.id)
    )
    out: dict[int, list[Candidate]] = defaultdict(list)
    for item_id, barcode, record_id, call_number, record_call_number, shelf_location in rows:
        out[record_id].append(Candidate(item_id, barcode, call_number or record_call_number or "", shelf_location or ""))
    return out


def pull_list(session: Session, branch: Branch, *, limit: int | None = None) -> PullList:
    """The pull list of ``branch`` (oldest hold first, at most ``limit`` lines)."""
    copies = _candidates(session, branch.id)
    if not copies:
        return PullList(branch, [])
    holds = session.scalars(
        select(Hold).where(Hold.state == "waiting", Hold.record_id.in_(list(copies)))
        .options(joinedload(Hold.record), joinedload(Hold.pickup_branch))
        .order_by(Hold.created_at, Hold.id)
    ).all()
    asked_for = {h.item_id for h in holds if h.item_id is not None}  # copies item-level holds want
    taken: set[int] = set()
    lines: list[PullLine] = []
    for hold in holds:
        free = [c for c in copies[hold.record_id] if c.id not in taken]
        if hold.item_id is not None:
            free = [c for c in free if c.id == hold.item_id]
        if not free:
            continue
        free.sort(key=lambda c: (c.id in asked_for and c.id != hold.item_id, c.id))
        taken.add(free[0].id)
        line = PullLine(hold=hold, title=hold.record.title, pickup_branch=hold.pickup_branch,
                        placed_at=hold.created_at, item_level=hold.item_id is not None,
                        here=hold.pickup_branch_id == branch.id, copies=free)
        lines.append(line)
        if limit is not None and len(lines) >= limit:
            break
    return PullList(branch, lines)


def pull_count(session: Session, branch: Branch) -> int:
    """How many lines the branch's pull list has (for the counter navigation)."""
    return pull_list(session, branch).count
