"""HTTP for auditors: replay, chain verification, checkpoints, export and diagrams."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["audit"])
