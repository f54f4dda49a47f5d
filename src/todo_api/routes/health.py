"""`GET /health` and `GET /api/v1/health`: a real query and the migration revision."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from todo_api.deps import ServicesDep


class HealthStatus(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    # "busy": reachable, but every pooled connection is in use (load, not an outage)
    database: Literal["connected", "busy", "disconnected"]
    migration: Literal["up-to-date", "out-of-date", "unknown"]


router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthStatus,
    summary="Service and database health",
    responses={503: {"model": HealthStatus, "description": "The database is unreachable"}},
)
async def health(services: ServicesDep) -> JSONResponse:
    report = await services.health.check()
    if not report.database_ok:
        body = HealthStatus(status="unhealthy", database="disconnected", migration="unknown")
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "2"})
    current = report.migration_current
    body = HealthStatus(
        status="healthy" if current and not report.database_busy else "degraded",
        database="busy" if report.database_busy else "connected",
        migration="up-to-date" if current else "out-of-date",
    )
    return JSONResponse(body.model_dump(), headers={"Cache-Control": "no-store"})
