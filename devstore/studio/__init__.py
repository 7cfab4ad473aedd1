"""Studio: procedural retail products and a CPU renderer for white-background product photos.

Stable API (used by the demo shop's catalogue and by the engine benchmark)::

    from devstore.studio import PRODUCT_KINDS, make_product, render_views
    product = make_product("mug", seed=0)      # StudioProduct: mesh (metres, +Y up, front +Z), name, category, size_m
    photos = render_views(product, n_views=4, size=512)   # front, left, back, right (PIL RGB images)

Imports nothing of ours outside this package (NumPy, SciPy, Pillow and trimesh only).
"""

from .render import Camera, camera_for_view, rasterize, render_view, render_views
from .shapes import PRODUCT_KINDS, StudioProduct, make_product

__all__ = [
    "PRODUCT_KINDS",
    "Camera",
    "StudioProduct",
    "camera_for_view",
    "make_product",
    "rasterize",
    "render_view",
    "render_views",
]
