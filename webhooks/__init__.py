"""Shopify webhook endpoints, one module per topic."""
