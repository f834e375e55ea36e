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


@dataclass(frozen=True)
class Cause:
    """A common cause of faults of one category, and what fixes it (the fault-details window lists them)."""

    category: str
    cause: str
    fix: str
    #: The action that fixes it: "reauthenticate", "credentials" (edit the output) or "resume" (after waiting).
    action: str


#: The common causes, authentication, permissions and rate limiting first (as the seed lists them).
COMMON_CAUSES = (
    Cause(AUTHENTICATION, "The partner no longer accepts the sign-in or key: it expired, was revoked, or the "
          "password behind it changed.", "Re-authenticate (OAuth outputs) or enter the new key in Edit Credentials, "
          "then Resume.", "reauthenticate"),
    Cause(PERMISSIONS, "The account is signed in but may not do this: a permission or scope is missing (such as "
          "managing audiences in the ad account), or the list or account belongs to someone else.",
          "Check the credentials and the account's permissions at the partner (sign in with an account that has "
          "them), then Resume.", "credentials"),
    Cause(RATE_LIMITING, "The partner was sent more than its limit allows and asked to wait (429, Retry-After).",
          "Wait until the time the partner asked for has passed (its message says how long when it told), then "
          "Resume.", "resume"),
    Cause(CONFIGURATION, "The request does not fit the partner's account: an unknown list or ad account, a moved "
          "address, a missing secret or folder.", "Check the output's settings in Edit Credentials, then Resume.",
          "credentials"),
    Cause(OTHER, "The partner failed or could not be reached (5xx, no answer, a reply cut off) on every retry.",
          "Check the partner's status page or the network, then Resume.", "resume"),
)
