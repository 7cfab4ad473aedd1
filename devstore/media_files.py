"""Files in the store: blobs, CDN URLs, and media (images, 3D models) attached to products."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from devstore.errors import NotFound
from devstore.records import Blob, Media, Product, Shop
from devstore.store_core import StoreCore


class MediaFiles(StoreCore):
    """Blob and media operations of :class:`devstore.state.Store`."""

    def media_url(self, media: Media, *, width: int | None = None, height: int | None = None) -> str:
        """The CDN URL of a file: stable path, ``?v=`` version, optional ``width``/``height`` transform."""
        blob = self.blobs.get(media.blob_key or "")
        # ?v= carries a stable timestamp-like version, as Shopify's CDN URLs do
        v = int(media.created_at.timestamp()) * 10 + (blob.version if blob else 1)
        url = f"{self.base_url}/cdn/shop/files/{media.blob_key}/{quote(media.filename or 'file')}?v={v}"
        if width:
            url += f"&width={width}"
        if height:
            url += f"&height={height}"
        return url

    # ---- blobs -----------------------------------------------------------------------------------
    def put_blob(self, data: bytes, content_type: str, *, key: str | None = None) -> Blob:
        with self.lock:
            key = key or secrets.token_hex(12)
            old = self.blobs.get(key)
            blob = Blob(
                key=key, content_type=content_type, data=data, version=(old.version + 1) if old else 1
            )
            self.blobs[key] = blob
            return blob

    # ---- media -----------------------------------------------------------------------------------
    def add_image(
        self,
        shop: Shop,
        data: bytes,
        *,
        alt: str = "",
        filename: str = "image.png",
        product: Product | None = None,
        variant_ids: list[int] | None = None,
    ) -> Media:
        """Store an image file and attach it (last) to ``product``; the image is READY at once."""
        from devstore.cdn import image_info  # local import: Pillow is only needed when images are added

        content_type, width, height = image_info(data)
        with self.lock:
            blob = self.put_blob(data, content_type)
            media = Media(
                id=self.next_id(),
                content_type="IMAGE",
                created_at=self.now(),
                alt=alt,
                filename=filename,
                blob_key=blob.key,
                mime_type=content_type,
                file_size=len(data),
                width=width,
                height=height,
                image_id=self.next_id(),
                updated_at=self.now(),
            )
            shop.media[media.id] = media
            if product is not None:
                self.attach_media(product, media)
                for variant in product.variants:
                    if variant_ids and variant.id in variant_ids:
                        variant.media_ids = [media.id]
            return media

    def attach_media(self, product: Product, media: Media) -> None:
        with self.lock:
            if media.id not in product.media_ids:
                product.media_ids.append(media.id)
            if product.id not in media.product_ids:
                media.product_ids.append(product.id)
            self.bump()

    def detach_media(self, shop: Shop, media: Media, product_id: int) -> None:
        with self.lock:
            product = shop.products.get(product_id)
            if product is not None:
                if media.id in product.media_ids:
                    product.media_ids.remove(media.id)
                for variant in product.variants:
                    if media.id in variant.media_ids:
                        variant.media_ids.remove(media.id)
                self.touch(product)
            if product_id in media.product_ids:
                media.product_ids.remove(product_id)
            self.bump()

    def delete_media(self, shop: Shop, media_id: int) -> None:
        with self.lock:
            media = shop.media.get(media_id)
            if media is None:
                raise NotFound(f"file {media_id} does not exist in {shop.domain}")
            for product_id in list(media.product_ids):
                self.detach_media(shop, media, product_id)
            del shop.media[media_id]

    def find_media(self, media_id: int) -> tuple[Shop, Media] | None:
        with self.lock:
            for shop in self.shops.values():
                if media_id in shop.media:
                    return shop, shop.media[media_id]
        return None
