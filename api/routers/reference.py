from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.timerange import ZONES

router = APIRouter(tags=["reference"])


class TimeZones(BaseModel):
    data: list[str] = Field(description="IANA zone names, sorted")


@router.get("/time-zones")
def time_zones() -> TimeZones:
    """Every time zone `tz` accepts (the IANA names Python's zoneinfo knows on this server)."""
    return TimeZones(data=list(ZONES))
