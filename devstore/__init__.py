"""Devstore: an offline stand-in for a Shopify store, faithful to Shopify's Admin API 2026-10 schema.

See devstore/README.md for the URL scheme and the interfaces other packages code against.
"""
