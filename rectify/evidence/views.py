"""HTTP for evidence: multipart upload to a hazard, and download by hash."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from rectify.api.deps import ConnectionDep, ContextDep, CurrentCaller, RowId
from rectify.api.uploads import MultipartFile
from rectify.evidence import service
from rectify.evidence.models import EvidencePublic
from rectify.evidence.serving import file_headers

router = APIRouter(prefix="/hazards/{hazard_id}/evidence", tags=["evidence"])


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


@router.post("", status_code=201, response_model=EvidencePublic, openapi_extra=UPLOAD_BODY)
def upload_evidence(
    hazard_id: RowId, request: Request, ctx: ContextDep, caller: CurrentCaller
) -> EvidencePublic:
    """Upload a JPEG, PNG, WebP or PDF (sniffed by content, and refused with 415 unless an
    image decodes to sane dimensions or a PDF ends with %%EOF), stored by its SHA-256.

    The multipart field `file` streams straight into the evidence store's staging file
    (nothing in /tmp), and the size limit holds while it streams."""
    file = MultipartFile(request, "file").open()
    row = service.upload(
        ctx=ctx, caller=caller, hazard_id=hazard_id, stream=file, filename=file.filename
    )
    return EvidencePublic.model_validate(row)


@router.get("/{sha256}")
def download_evidence(
    hazard_id: RowId,
    sha256: str,
    ctx: ContextDep,
    connection: ConnectionDep,
    caller: CurrentCaller,
) -> FileResponse:
    """The stored bytes of one piece of evidence: images inline, PDFs as a download, under
    the uploader's (cleaned) file name."""
    row = service.get(connection=connection, caller=caller, hazard_id=hazard_id, sha256=sha256)
    return FileResponse(
        ctx.evidence.path(row["sha256"]), media_type=row["content_type"], headers=file_headers(row)
    )
