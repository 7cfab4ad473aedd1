"""What the job core raises. Plain exceptions: each API family maps them to its own error body at its edge."""

from __future__ import annotations

from shop_app.jobs.params import InvalidJobRequest


class LeaseLost(Exception):
    """This worker no longer owns the job (lease expired and was reaped, or the job was canceled)."""


class JobNotFound(LookupError):
    """No such job, or the owner asking may not see it (the two are not told apart: ids must not be probeable)."""


class InvalidTransition(Exception):
    """The job is in a state that does not allow the operation; the message says which."""


class InvalidCursor(ValueError):
    """A page cursor that this core did not hand out."""


__all__ = ["InvalidCursor", "InvalidJobRequest", "InvalidTransition", "JobNotFound", "LeaseLost"]
