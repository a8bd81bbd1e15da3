"""The circulation use cases (the contract other packages code against), re-exported from the
modules that implement them."""

from __future__ import annotations

from circulation.accounts import ReaderSummary, lift_suspension, pay_charges, reader_summary, settle_charge
from circulation.blocks import Block, reader_blocks
from circulation.common import record_visit
from circulation.holds import cancel_hold, expire_hold, hold_queue_position, place_hold
from circulation.loans import CheckinResult, checkin, checkout, mark_damaged, mark_lost, renew, renew_all
from circulation.notices import queue_notice
from circulation.rules import find_rule, save_rule
from circulation.transits import incoming, mark_sent, to_send

__all__ = [
    "Block", "CheckinResult", "ReaderSummary", "cancel_hold", "checkin", "checkout", "expire_hold", "find_rule",
    "hold_queue_position", "incoming", "lift_suspension", "mark_damaged", "mark_lost", "mark_sent", "pay_charges",
    "place_hold", "queue_notice", "reader_blocks", "reader_summary", "record_visit", "renew", "renew_all",
    "save_rule", "settle_charge", "to_send",
]
