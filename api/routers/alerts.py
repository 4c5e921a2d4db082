from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from api.alerting import AlertEvaluator
from api.errors import INVALID
from api.schemas import Alerts, AlertStatus

router = APIRouter(tags=["operations"])


async def get_alerts(request: Request) -> AlertEvaluator:
    alerts: AlertEvaluator = request.app.state.alerts
    return alerts


AlertsDep = Annotated[AlertEvaluator, Depends(get_alerts)]


@router.get("/alerts", responses=INVALID)
def alerts(
    evaluator: AlertsDep,
    status: Annotated[AlertStatus | None, Query(description="only alerts in this status")] = None,
) -> Alerts:
    """The alert rules' newest evaluation, and the alerts: firing first, then resolved, newest first."""
    return evaluator.snapshot(status)
