"""customers/data_request (mandatory compliance topic): Nu3D stores no customer data, so the request is recorded only."""

from __future__ import annotations

from webhooks.handling import record_no_customer_data

TOPIC = "customers/data_request"

handle = record_no_customer_data(TOPIC)
