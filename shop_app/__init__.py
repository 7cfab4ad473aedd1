"""Nu3D web app and the shared core (settings, database, models, storage, Shopify client, jobs)."""
