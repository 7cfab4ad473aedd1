"""GET /download/{job_id}/{file_id}/model and GET /download/{job_id}/all (a ZIP)."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from shop_app.errors import Conflict
from shop_app.jobs.results import generation_of
from shop_app.routes.image2model.common import file_of, files_of, owned_batch, owner, run
from shop_app.web.files import stored_file_response
from shop_app.web.streaming import model_entries, zip_response


def _glb_name(filename: str, fallback: str) -> str:
    return model_entries([(filename, fallback, "")])[0][0]


async def download_model(request: Request) -> Response:
    """The file's GLB: the bytes (local storage) or a 302 to a signed object-store URL. With `session_id`,
    the batch must belong to that session too.
    ---
    responses:
      200: {description: model/gltf-binary}
      302: {description: redirect to the model}
      404: {description: NOT_FOUND (no such batch, file or session)}
      409: {description: MODEL_NOT_READY}
    """
    batch_id, file_id = request.path_params["job_id"], request.path_params["file_id"]
    session_id = request.query_params.get("session_id")

    def work(session: Session) -> tuple[str, str]:
        batch = owned_batch(session, owner(session, request), batch_id, session_id=session_id)
        state = file_of(session, batch, file_id)
        generation = generation_of(session, state.job)
        if generation is None:
            raise Conflict(
                f"the model of {file_id} is {state.job.status}; download it once it has completed",
                code="MODEL_NOT_READY",
                details={"status": state.job.status},
            )
        return generation.glb_key, _glb_name(state.filename, file_id)

    key, filename = await run(request, work)
    return stored_file_response(request, key, filename=filename)


async def download_all(request: Request) -> Response:
    """Every completed model of the batch as one ZIP (entry names are the uploads' names, made safe).
    ---
    responses:
      200: {description: application/zip}
      404: {description: NOT_FOUND}
      409: {description: NOTHING_TO_DOWNLOAD (no model has completed yet)}
    """
    batch_id = request.path_params["job_id"]
    session_id = request.query_params.get("session_id")

    def work(session: Session) -> list[tuple[str, str]]:
        batch = owned_batch(session, owner(session, request), batch_id, session_id=session_id)
        finished = [(state, generation_of(session, state.job)) for state in files_of(session, batch)]
        entries = model_entries((s.filename, s.file_id, g.glb_key) for s, g in finished if g is not None)
        if not entries:
            raise Conflict("no model of this batch has completed yet", code="NOTHING_TO_DOWNLOAD")
        return entries

    entries = await run(request, work)
    return zip_response(request.state.storage, entries, filename=f"{batch_id}.zip")
