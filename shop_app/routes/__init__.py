"""HTTP routes. Each module exports `routes: list[BaseRoute]`; only shop_app.app composes them."""
