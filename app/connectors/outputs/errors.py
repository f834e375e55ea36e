"""What a partner's refusal means: a PartnerError carries its status and message, a fault category names the cause."""

from __future__ import annotations

from dataclasses import dataclass

AUTHENTICATION = "Authentication"
PERMISSIONS = "Permissions"
RATE_LIMITING = "Rate limiting"
CONFIGURATION = "Configuration"
OTHER = "Other"
#: The categories a fault can have, in the words the Faults pane shows.
FAULT_CATEGORIES = (AUTHENTICATION, PERMISSIONS, RATE_LIMITING, CONFIGURATION, OTHER)


class PartnerError(Exception):
    """A partner refused or failed a request (or could not be reached: status None).

    `retry_after` is the partner's Retry-After in seconds when it gave one; `category` overrides the
    category the status implies (e.g. a missing secret is Configuration without any HTTP status).
    `response`: the partner's HTTP reply when it answered with an error status (for its own error codes).
    """

    response = None

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 category: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self._category = category

    @property
    def category(self) -> str:
        return self._category or category_of(self.status)

    @property
    def retryable(self) -> bool:
        """429, 5xx and unreachable partners may succeed later; everything else needs the admin."""
        if self._category is not None and self._category not in (RATE_LIMITING, OTHER):
            return False
        return self.status is None or self.status == 429 or self.status >= 500


def category_of(status: int | None) -> str:
    """The fault category a partner's HTTP status implies."""
    if status == 401:
        return AUTHENTICATION
    if status == 403:
        return PERMISSIONS
    if status == 429:
        return RATE_LIMITING
    if status is not None and 400 <= status < 500:
        # 400, 404, 409, 422...: the request does not fit the partner's account or list; the admin fixes settings.
        return CONFIGURATION
    return OTHER


@dataclass(frozen=True)
class Failure:
    """Why forwarding to a connection stopped: what the Faults pane shows."""

    category: str
    message: str
    status: int | None
    retries: int
    batch_id: str | None = None
