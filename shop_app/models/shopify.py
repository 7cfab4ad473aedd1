"""Shopify mirror tables: products, images, approvals, webhook events, scan state. Filled in by issue 4."""
