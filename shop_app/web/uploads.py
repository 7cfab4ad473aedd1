"""Reading image uploads from multipart requests (shared by every API family): count and size caps (413),
type by content."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import UploadFile
from starlette.requests import Request

from shop_app.errors import AppError, PayloadTooLarge, ValidationError
from shop_app.jobs.images import MAX_FILE_BYTES, ImageInfo, InvalidImage, inspect_image

MULTIPART_SLACK = 1024 * 1024  # form fields and part headers on top of the files


@dataclass
class Upload:
    filename: str
    data: bytes
    info: ImageInfo


def image_error(err: InvalidImage, *, filename: str, error_type: type[AppError] | None = None) -> AppError:
    if err.too_large:
        return PayloadTooLarge(str(err), details={"file": filename, "max_bytes": MAX_FILE_BYTES})
    cls = error_type or ValidationError
    return cls(
        str(err), details={"file": filename, "reason": err.code, "allowed_formats": ["jpg", "jpeg", "png"]}
    )


async def read_uploads(
    request: Request,
    *,
    field: str = "files",
    min_files: int = 1,
    max_files: int = 4,
    max_bytes: int = MAX_FILE_BYTES,
) -> tuple[list[Upload], dict[str, str]]:
    """The uploaded images (checked) and the plain form fields. Raises AppError (400/413)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_files * max_bytes + MULTIPART_SLACK:
        raise PayloadTooLarge(
            f"the request is {int(declared) / 1024 / 1024:.1f} MB; at most {max_files} files of "
            f"{max_bytes / 1024 / 1024:g} MB each are accepted",
            details={"max_files": max_files, "max_bytes": max_bytes},
        )
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise ValidationError(
            "send the images as multipart/form-data in the field " + repr(field),
            details={"content_type": content_type or None},
        )
    try:
        form = await request.form(max_files=max_files + 8, max_fields=64)
    except Exception as err:  # starlette's MultiPartException and parser errors
        raise ValidationError(f"cannot read the multipart body: {err}") from None
    try:
        files = [item for item in form.getlist(field) if isinstance(item, UploadFile)]
        if len(files) > max_files:
            raise PayloadTooLarge(
                f"{len(files)} files sent; at most {max_files} are accepted per request",
                details={"max_files": max_files, "received": len(files)},
            )
        if len(files) < min_files:
            raise ValidationError(
                f"no image received in the form field {field!r}; send {min_files} to {max_files} JPEG or PNG files",
                details={"field": field},
            )
        uploads: list[Upload] = []
        for index, upload in enumerate(files):
            name = upload.filename or f"file{index + 1}"
            data = await upload.read(max_bytes + 1)
            try:
                info = inspect_image(data, name=name, max_bytes=max_bytes)
            except InvalidImage as err:
                raise image_error(err, filename=name) from None
            uploads.append(Upload(filename=name, data=data, info=info))
        fields = {key: value for key, value in form.multi_items() if isinstance(value, str)}
        return uploads, fields
    finally:
        await form.close()
