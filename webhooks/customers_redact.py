"""customers/redact (mandatory compliance topic): Nu3D stores no customer data, so the request is recorded only."""

from __future__ import annotations

from webhooks.handling import record_no_customer_data

TOPIC = "customers/redact"

handle = record_no_customer_data(TOPIC)
