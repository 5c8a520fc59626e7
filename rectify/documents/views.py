"""HTTP for 执法文书: a hazard's documents, one document's PDF, and its service (送达); and the
console's download of the same PDF (signed-in session, same scope)."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse

from rectify.api.deps import ConnectionDep, ContextDep, CurrentCaller, RowId
from rectify.api.json_body import StrictJSONRoute
from rectify.api.permissions import DocumentRoles
from rectify.console.deps import ConsoleCaller
from rectify.documents import service
from rectify.documents.models import DocumentPublic, ServeRequest

__all__ = ["console", "router"]

router = APIRouter(tags=["documents"], route_class=StrictJSONRoute)
console = APIRouter(prefix="/console", include_in_schema=False)

_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|]')


def pdf_response(path: Path, document: dict[str, Any]) -> FileResponse:
    """The stored PDF, named after its number (鄂汉岸应急责改〔2026〕1号.pdf), with its SHA-256 as
    a representation digest (RFC 9530) for clients that check it."""
    name = _UNSAFE.sub("_", document["number"]) + ".pdf"
    digest = base64.b64encode(bytes.fromhex(document["sha256"])).decode()
    return FileResponse(
        path,
        media_type="application/pdf",
        filename=name,
        headers={
            "Repr-Digest": f"sha-256=:{digest}:",
            "ETag": f'"{document["sha256"]}"',
            "Cache-Control": "private, no-cache",
        },
    )


@router.get("/hazards/{hazard_id}/documents", response_model=list[DocumentPublic])
def list_documents(
    hazard_id: RowId, ctx: ContextDep, connection: ConnectionDep, caller: CurrentCaller
) -> list[dict[str, Any]]:
    """The 执法文书 a hazard's steps issued, oldest first: kind and Chinese name, number (文号),
    issue time, status (`pending` until rendered, then `issued` with its SHA-256 — the one its
    `document_issued` event records) and service (送达)."""
    return service.for_hazard(ctx=ctx, connection=connection, caller=caller, hazard_id=hazard_id)


@router.get(
    "/documents/{document_id}",
    response_class=FileResponse,
    responses={200: {"content": {"application/pdf": {}}}, 409: {"description": "still pending"}},
)
def download_document(
    document_id: RowId, ctx: ContextDep, connection: ConnectionDep, caller: CurrentCaller
) -> FileResponse:
    """The document's PDF (in scope through its hazard; 404 otherwise, 409 while pending). Its
    SHA-256 equals the one in the hazard's `document_issued` event."""
    path, document = service.pdf_path(
        ctx=ctx, connection=connection, caller=caller, document_id=document_id
    )
    return pdf_response(path, document)


@router.post(
    "/documents/{document_id}/serve",
    response_model=DocumentPublic,
    dependencies=[Depends(DocumentRoles(*service.SERVERS))],  # scope (404), then role (403)
)
def serve_document(
    document_id: RowId, body: ServeRequest, ctx: ContextDep, caller: CurrentCaller
) -> dict[str, Any]:
    """Record the service (送达) of an issued document: `served_at`, `method` (in_person 直接送达,
    left 留置送达, electronic 电子送达, entrusted 委托送达, post 邮寄送达, forwarded 转交送达,
    public_notice 公告送达), `recipient`, optional `note`; appends `serve_document` to the
    hazard's history. Dispatchers and inspectors; once per document (409 after)."""
    return service.serve(ctx=ctx, caller=caller, document_id=document_id, request=body)


@console.get("/documents/{document_id}")
def console_document(
    document_id: RowId, ctx: ContextDep, connection: ConnectionDep, caller: ConsoleCaller
) -> FileResponse:
    """The document's PDF for a signed-in person (same scope as the API)."""
    path, document = service.pdf_path(
        ctx=ctx, connection=connection, caller=caller, document_id=document_id
    )
    return pdf_response(path, document)
