"""Staged uploads, MODEL_3D media lifecycle, file references and the CDN."""

from __future__ import annotations

import io
import json
import struct
from typing import Any

import httpx
from PIL import Image

from devstore.testing import DevstoreServer

from .conftest import SHOP, FakeClock, gql, png_bytes

STAGE = """mutation Stage($input: [StagedUploadInput!]!) {
  stagedUploadsCreate(input: $input) {
    stagedTargets { url resourceUrl parameters { name value } }
    userErrors { field message }
  }
}"""
ATTACH = """mutation Attach($product: ProductUpdateInput!, $media: [CreateMediaInput!]) {
  productUpdate(product: $product, media: $media) {
    product { id media(last: 1) { nodes { id mediaContentType status } } }
    userErrors { field message }
  }
}"""
STATUS = """query Status($ids: [ID!]!) {
  nodes(ids: $ids) { id ... on Model3d { status fileStatus
    mediaErrors { code details message } fileErrors { code details message }
    sources { format mimeType url filesize } } }
}"""


def make_glb(extra_bytes: int = 0, *, version: int = 2) -> bytes:
    doc = json.dumps({"asset": {"version": "2.0"}, "scenes": [{"nodes": []}], "scene": 0}).encode()
    doc += b" " * (-len(doc) % 4)
    binary = b"\x00" * (extra_bytes + (-extra_bytes % 4))
    chunks = struct.pack("<II", len(doc), 0x4E4F534A) + doc
    if binary:
        chunks += struct.pack("<II", len(binary), 0x004E4942) + binary
    return b"glTF" + struct.pack("<II", version, 12 + len(chunks)) + chunks


def stage(
    ds: DevstoreServer,
    token: str,
    data: bytes,
    *,
    resource: str = "MODEL_3D",
    size: int | None = None,
    filename: str = "model.glb",
    mime: str = "model/gltf-binary",
) -> dict[str, Any]:
    item = {"filename": filename, "mimeType": mime, "resource": resource, "httpMethod": "POST"}
    item["fileSize"] = str(len(data) if size is None else size)
    body = gql(ds, token, STAGE, {"input": [item]})
    assert body["data"]["stagedUploadsCreate"]["userErrors"] == [], body
    return body["data"]["stagedUploadsCreate"]["stagedTargets"][0]


def upload(target: dict[str, Any], data: bytes, mime: str = "model/gltf-binary") -> httpx.Response:
    fields = {p["name"]: p["value"] for p in target["parameters"]}
    return httpx.post(target["url"], data=fields, files={"file": ("model.glb", data, mime)})


def attach(ds: DevstoreServer, token: str, product_gid: str, source: str) -> dict[str, Any]:
    body = gql(
        ds,
        token,
        ATTACH,
        {
            "product": {"id": product_gid},
            "media": [{"originalSource": source, "mediaContentType": "MODEL_3D", "alt": "3D model"}],
        },
    )
    assert body["data"]["productUpdate"]["userErrors"] == [], body
    return body["data"]["productUpdate"]["product"]["media"]["nodes"][0]


def status(ds: DevstoreServer, token: str, media_id: str) -> dict[str, Any]:
    return gql(ds, token, STATUS, {"ids": [media_id]})["data"]["nodes"][0]


def clocked_token(ds: DevstoreServer) -> str:
    from .conftest import CLIENT_ID, CLIENT_SECRET

    return ds.exchange_token(SHOP, CLIENT_ID, CLIENT_SECRET)["access_token"]


def test_model3d_upload_goes_uploaded_processing_ready(clocked: DevstoreServer, clock: FakeClock) -> None:
    ds = clocked
    token = clocked_token(ds)
    product = ds.create_product(SHOP, title="Mug")
    glb = make_glb(1000)
    target = stage(ds, token, glb)
    assert target["url"].startswith(ds.base_url)
    assert target["parameters"][-1]["name"] == "policy"
    response = upload(target, glb)
    assert response.status_code == 201
    assert "<PostResponse>" in response.text
    media = attach(ds, token, product["admin_graphql_api_id"], target["resourceUrl"])
    assert media["mediaContentType"] == "MODEL_3D"
    assert media["status"] == "UPLOADED"
    clock.advance(6)  # processing takes 10 s in this config: UPLOADED for the first half
    assert status(ds, token, media["id"])["status"] == "PROCESSING"
    assert status(ds, token, media["id"])["sources"] == []
    clock.advance(5)
    ready = status(ds, token, media["id"])
    assert ready["status"] == ready["fileStatus"] == "READY"
    assert ready["mediaErrors"] == []
    [source] = ready["sources"]
    assert source["format"] == "glb" and source["mimeType"] == "model/gltf-binary"
    assert source["filesize"] == len(glb)
    assert ds.client.get(source["url"]).content == glb


def test_invalid_glb_fails_validation(clocked: DevstoreServer, clock: FakeClock) -> None:
    ds = clocked
    token = clocked_token(ds)
    product = ds.create_product(SHOP, title="Jar")
    for bad in (b"PK\x03\x04 this is a zip" * 10, make_glb(8, version=1), make_glb(8)[:-4]):
        target = stage(ds, token, bad)
        assert upload(target, bad).status_code == 201
        media = attach(ds, token, product["admin_graphql_api_id"], target["resourceUrl"])
        clock.advance(11)
        failed = status(ds, token, media["id"])
        assert failed["status"] == "FAILED"
        assert [e["code"] for e in failed["mediaErrors"]] == ["MODEL3D_VALIDATION_ERROR"]
        assert failed["mediaErrors"][0]["details"]
        assert failed["fileErrors"] == failed["mediaErrors"]


def test_unstaged_source_fails_download(clocked: DevstoreServer, clock: FakeClock) -> None:
    ds = clocked
    token = clocked_token(ds)
    product = ds.create_product(SHOP, title="Tote")
    media = attach(ds, token, product["admin_graphql_api_id"], "https://example.com/model.glb")
    clock.advance(11)
    assert [e["code"] for e in status(ds, token, media["id"])["mediaErrors"]] == [
        "GENERIC_FILE_DOWNLOAD_FAILURE"
    ]


def test_staged_upload_rules(ds: DevstoreServer, token: str) -> None:
    body = gql(
        ds,
        token,
        STAGE,
        {
            "input": [
                {
                    "filename": "m.glb",
                    "mimeType": "model/gltf-binary",
                    "resource": "MODEL_3D",
                    "httpMethod": "POST",
                }
            ]
        },
    )
    errors = body["data"]["stagedUploadsCreate"]["userErrors"]
    assert errors == [
        {"field": ["input", "0", "fileSize"], "message": "File size is required for MODEL_3D uploads."}
    ]
    body = gql(
        ds,
        token,
        STAGE,
        {
            "input": [
                {
                    "filename": "m.glb",
                    "mimeType": "model/gltf-binary",
                    "resource": "MODEL_3D",
                    "fileSize": str(600 * 1024 * 1024),
                }
            ]
        },
    )
    assert body["data"]["stagedUploadsCreate"]["userErrors"][0]["field"] == ["input", "0", "fileSize"]
    glb = make_glb(100)
    target = stage(ds, token, glb, size=len(glb))
    assert upload(target, glb + b"\x00" * 64).status_code == 400  # larger than declared
    forged = dict(
        target,
        parameters=[
            p if p["name"] != "x-goog-signature" else {"name": p["name"], "value": "0" * 64}
            for p in target["parameters"]
        ],
    )
    assert upload(forged, glb).status_code == 403
    fields = {p["name"]: p["value"] for p in target["parameters"]}
    file_first = httpx.post(
        target["url"],
        files=[("file", ("m.glb", glb, "model/gltf-binary")), *((k, (None, v)) for k, v in fields.items())],
    )
    assert file_first.status_code == 400 and "last field" in file_first.text
    assert upload(target, glb).status_code == 201


def test_file_update_removes_references_and_file_delete(ds: DevstoreServer, token: str) -> None:
    product = ds.create_product(SHOP, title="Can", images=[png_bytes()])
    glb = make_glb(10)
    target = stage(ds, token, glb)
    upload(target, glb)
    media = attach(ds, token, product["admin_graphql_api_id"], target["resourceUrl"])
    listing = (
        "query P($id: ID!) { product(id: $id) { mediaCount { count } media(first: 10) { nodes { id } } } }"
    )
    ids = [
        n["id"]
        for n in gql(ds, token, listing, {"id": product["admin_graphql_api_id"]})["data"]["product"]["media"][
            "nodes"
        ]
    ]
    assert ids[-1] == media["id"] and len(ids) == 2
    detach = gql(
        ds,
        token,
        "mutation F($files: [FileUpdateInput!]!) { fileUpdate(files: $files) { files { id } "
        "userErrors { field message code } } }",
        {"files": [{"id": media["id"], "referencesToRemove": [product["admin_graphql_api_id"]]}]},
    )
    assert detach["data"]["fileUpdate"] == {"files": [{"id": media["id"]}], "userErrors": []}
    after = gql(ds, token, listing, {"id": product["admin_graphql_api_id"]})["data"]["product"]
    assert after["mediaCount"]["count"] == 1 and media["id"] not in [n["id"] for n in after["media"]["nodes"]]
    assert status(ds, token, media["id"])["id"] == media["id"]  # the file itself stays
    deleted = gql(
        ds,
        token,
        "mutation D($ids: [ID!]!) { fileDelete(fileIds: $ids) { deletedFileIds "
        "userErrors { code message } } }",
        {"ids": [media["id"]]},
    )
    assert deleted["data"]["fileDelete"] == {"deletedFileIds": [media["id"]], "userErrors": []}
    assert gql(ds, token, STATUS, {"ids": [media["id"]]})["data"]["nodes"] == [None]
    again = gql(
        ds,
        token,
        "mutation D($ids: [ID!]!) { fileDelete(fileIds: $ids) { deletedFileIds "
        "userErrors { code message } } }",
        {"ids": [media["id"]]},
    )
    assert again["data"]["fileDelete"]["userErrors"][0]["code"] == "FILE_DOES_NOT_EXIST"


def test_product_update_errors(ds: DevstoreServer, token: str) -> None:
    body = gql(ds, token, ATTACH, {"product": {"id": "gid://shopify/Product/999"}})
    assert body["data"]["productUpdate"] == {
        "product": None,
        "userErrors": [{"field": ["id"], "message": "Product does not exist"}],
    }
    product = ds.create_product(SHOP, title="Box")
    body = gql(ds, token, ATTACH, {"product": {"id": product["admin_graphql_api_id"], "title": " "}})
    assert body["data"]["productUpdate"]["userErrors"] == [
        {"field": ["title"], "message": "Title can't be blank"}
    ]
    body = gql(ds, token, ATTACH, {"product": {"id": product["admin_graphql_api_id"], "seo": {"title": "x"}}})
    assert body["errors"][0]["extensions"]["code"] == "DEVSTORE_NOT_IMPLEMENTED"
    assert "seo" in body["errors"][0]["message"]


def test_cdn_serves_versioned_and_resized_images(ds: DevstoreServer, token: str) -> None:
    ds.create_product(SHOP, title="Photo", images=[png_bytes(400, 200)])
    body = gql(
        ds,
        token,
        "{ products(first: 1) { nodes { media(first: 1) { nodes { ... on MediaImage { image { "
        "url small: url(transform: {maxWidth: 100}) width height } } } } } } }",
    )
    image = body["data"]["products"]["nodes"][0]["media"]["nodes"][0]["image"]
    assert "?v=" in image["url"] and (image["width"], image["height"]) == (400, 200)
    full = ds.client.get(image["url"])
    assert full.status_code == 200 and full.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(full.content)).size == (400, 200)
    small = ds.client.get(image["small"])
    assert Image.open(io.BytesIO(small.content)).size == (100, 50)
    boxed = ds.client.get(image["url"] + "&width=300&height=60")
    assert Image.open(io.BytesIO(boxed.content)).size == (120, 60)
    assert ds.client.get(image["url"] + "&width=0").status_code == 400
    assert ds.client.get(image["url"] + "&width=big").status_code == 400
    assert ds.client.get(f"{ds.base_url}/cdn/shop/files/nope/x.png").status_code == 404


def test_image_staged_upload_attaches_a_ready_media_image(ds: DevstoreServer, token: str) -> None:
    product = ds.create_product(SHOP, title="Poster")
    photo = png_bytes(120, 80)
    target = stage(ds, token, photo, resource="IMAGE", filename="poster.png", mime="image/png")
    assert upload(target, photo, mime="image/png").status_code == 201
    body = gql(
        ds,
        token,
        ATTACH.replace(
            "mediaContentType status",
            "mediaContentType status ... on MediaImage { image { width height url } }",
        ),
        {
            "product": {"id": product["admin_graphql_api_id"]},
            "media": [
                {"originalSource": target["resourceUrl"], "mediaContentType": "IMAGE", "alt": "poster"}
            ],
        },
    )
    media = body["data"]["productUpdate"]["product"]["media"]["nodes"][0]
    assert media["status"] == "READY"
    assert (media["image"]["width"], media["image"]["height"]) == (120, 80)
    assert ds.client.get(media["image"]["url"]).content == photo
    # the mismatched content type is refused by the upload target, as a signed policy would
    target = stage(ds, token, photo, resource="IMAGE", filename="p.png", mime="image/png")
    assert (
        upload(target, photo, mime="image/jpeg").status_code == 201
    )  # multipart part type is not the policy
    fields = {p["name"]: p["value"] for p in target["parameters"]}
    fields["Content-Type"] = "image/jpeg"
    assert (
        httpx.post(target["url"], data=fields, files={"file": ("p.png", photo, "image/png")}).status_code
        == 400
    )


def test_ready_model_has_a_rendered_preview(clocked: DevstoreServer, clock: FakeClock) -> None:
    import trimesh

    ds = clocked
    token = clocked_token(ds)
    product = ds.create_product(SHOP, title="Cube")
    box = trimesh.creation.box(extents=(0.1, 0.2, 0.1))
    box.visual.vertex_colors = [30, 90, 200, 255]
    glb = box.export(file_type="glb")
    target = stage(ds, token, glb)
    upload(target, glb)
    media = attach(ds, token, product["admin_graphql_api_id"], target["resourceUrl"])
    query = "query S($ids: [ID!]!) { nodes(ids: $ids) { ... on Model3d { preview { status image { url width } } } } }"
    assert gql(ds, token, query, {"ids": [media["id"]]})["data"]["nodes"][0]["preview"] == {
        "status": "PROCESSING",
        "image": None,
    }
    clock.advance(11)
    preview = gql(ds, token, query, {"ids": [media["id"]]})["data"]["nodes"][0]["preview"]
    assert preview["status"] == "READY" and preview["image"]["width"] == 256
    png = Image.open(io.BytesIO(ds.client.get(preview["image"]["url"]).content)).convert("RGB")
    assert png.getpixel((0, 0)) == (255, 255, 255)
    r, g, b = png.getpixel((128, 128))
    assert b > r and b > g  # the blue box is in the middle of the picture


def test_put_staged_upload(ds: DevstoreServer, token: str) -> None:
    glb = make_glb(40)
    body = gql(
        ds,
        token,
        STAGE,
        {
            "input": [
                {
                    "filename": "my model.glb",
                    "mimeType": "model/gltf-binary",
                    "resource": "MODEL_3D",
                    "fileSize": str(len(glb)),
                }
            ]
        },
    )
    target = body["data"]["stagedUploadsCreate"]["stagedTargets"][0]  # httpMethod defaults to PUT
    assert "X-Goog-Signature=" in target["url"]
    assert (
        httpx.put(
            target["url"].split("?")[0], content=glb, headers={"Content-Type": "model/gltf-binary"}
        ).status_code
        == 403
    )
    assert (
        httpx.put(target["url"], content=glb, headers={"Content-Type": "model/gltf-binary"}).status_code
        == 200
    )
    product = ds.create_product(SHOP, title="Put")
    media = attach(ds, token, product["admin_graphql_api_id"], target["resourceUrl"])
    assert media["status"] in ("UPLOADED", "PROCESSING", "READY")
    bad = gql(
        ds,
        token,
        STAGE,
        {
            "input": [
                {
                    "filename": "../x.glb",
                    "mimeType": "model/gltf-binary",
                    "resource": "MODEL_3D",
                    "fileSize": "10",
                }
            ]
        },
    )
    assert bad["data"]["stagedUploadsCreate"]["userErrors"][0]["field"] == ["input", "0", "filename"]


def test_files_query_filters(ds: DevstoreServer, token: str) -> None:
    product = ds.create_product(SHOP, title="Vase", images=[png_bytes()])
    other = ds.create_product(SHOP, title="Other", images=[png_bytes()])
    glb = make_glb(10)
    target = stage(ds, token, glb)
    upload(target, glb)
    model = attach(ds, token, product["admin_graphql_api_id"], target["resourceUrl"])
    files = "query F($q: String) { files(first: 50, query: $q) { nodes { id fileStatus alt } } }"

    def ids(q: str | None) -> list[str]:
        body = gql(ds, token, files, {"q": q})
        assert "errors" not in body, body
        return [n["id"] for n in body["data"]["files"]["nodes"]]

    everything = ids(None)
    assert len(everything) == 3 and model["id"] in everything
    assert ids("media_type:MODEL_3D") == [model["id"]]
    assert len(ids("media_type:IMAGE")) == 2
    assert ids(f"media_type:MODEL_3D AND product_id:{other['id']}") == []
    assert ids(f"product_id:{other['id']}") == [other["media"][0]["admin_graphql_api_id"]]
    assert (
        "original_upload_size"
        in gql(ds, token, files, {"q": "original_upload_size:>1MB"})["errors"][0]["message"]
    )
