"""Campaign and event models."""

from __future__ import annotations
