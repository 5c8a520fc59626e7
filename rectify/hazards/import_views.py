"""HTTP for importing a hazard ledger: the XLSX template, and the import (dispatchers)."""

from __future__ import annotations

import io
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response

from rectify.api.deps import ContextDep
from rectify.api.permissions import Roles
from rectify.api.uploads import MultipartFile
from rectify.auth.scope import Caller
from rectify.exceptions import InvalidInput
from rectify.hazards import importing
from rectify.inputs import QueryBool

__all__ = ["router"]

router = APIRouter(prefix="/hazards/import", tags=["hazards"])

TEMPLATE_NAME = "隐患台账导入模板.xlsx"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORTERS = Roles("dispatcher")  # who may report and assign: the workflow's dispatcher
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@router.get("/template", dependencies=[Depends(IMPORTERS)], response_class=Response)
def import_template() -> Response:
    """The XLSX to fill in: one header row in Chinese, notes on the second sheet."""
    return Response(
        importing.template(),
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(TEMPLATE_NAME)}"},
    )


@router.post("", openapi_extra=UPLOAD_BODY, responses={201: {}, 200: {}})
def import_hazards(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(IMPORTERS)],
    response: Response,
    dry_run: QueryBool = False,
) -> dict[str, Any]:
    """Import the template's sheet (multipart field `file`): every row is checked with the
    API's rules; with no bad cell every row is reported (and assigned where it names a
    responsible person or deadline) in one transaction, else nothing is and the 422 lists each
    bad cell (`errors`: row, column, message). `dry_run=true` only checks."""
    file = MultipartFile(request, "file").open()
    data = file.read()  # bounded: the body limit holds while it streams
    rows = importing.read_sheet(io.BytesIO(data), max_rows=ctx.settings.import_max_rows)
    if not rows:
        raise InvalidInput.fields([{"field": "file", "message": "the sheet has no rows"}])
    with ctx.db.engine.connect() as connection:
        checked = importing.check(ctx=ctx, connection=connection, caller=caller, rows=rows)
    if checked.error_count:
        raise InvalidInput(
            f"{checked.error_count} bad cells in {len(rows)} rows: nothing was imported; "
            "correct them and send the sheet again",
            errors=checked.errors,
            error_count=checked.error_count,
        )
    if dry_run:
        response.status_code = 200
        return {"dry_run": True, "rows": len(rows), "imported": 0, "ids": []}
    ids = importing.import_rows(ctx=ctx, caller=caller, rows=checked.rows)
    response.status_code = 201
    return {"dry_run": False, "rows": len(rows), "imported": len(ids), "ids": ids}
