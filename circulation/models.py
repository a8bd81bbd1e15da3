"""Circulation models (loans, holds, transits, rules, charges, notices)."""

from __future__ import annotations
