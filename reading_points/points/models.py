"""Points ledger models."""

from __future__ import annotations
