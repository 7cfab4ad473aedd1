"""Typed errors for Shopify-facing code. They are AppErrors, so the one EXCEPTION_HANDLERS mapping renders them."""

from __future__ import annotations

from shop_app.errors import AppError, AuthenticationRequired, ValidationError

# App Bridge retries a fetch once with a fresh session token when it sees this header on a 401.
RETRY_INVALID_SESSION_HEADER = "X-Shopify-Retry-Invalid-Session-Request"


class InvalidShopDomain(ValidationError):
    code = "INVALID_SHOP_DOMAIN"


class InvalidSessionToken(AuthenticationRequired):
    """The App Bridge session token is missing, forged, expired or for another app or shop."""

    code = "INVALID_SESSION_TOKEN"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"invalid session token: {reason}",
            headers={RETRY_INVALID_SESSION_HEADER: "1"},
        )
        self.reason = reason


class InvalidOAuthRequest(AppError):
    """An OAuth/install query failed its HMAC, state, shop or timestamp check."""

    status_code = 400
    code = "INVALID_OAUTH_REQUEST"


class ShopifyError(AppError):
    """Shopify answered with an error, or could not be reached. `message` carries Shopify's own words."""

    status_code = 502
    code = "SHOPIFY_ERROR"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        shop: str | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.shop = shop
        self.http_status = http_status
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(shop={self.shop!r}, http_status={self.http_status!r}, "
            f"message={self.message!r})"
        )


class ShopifyThrottled(ShopifyError):
    code = "SHOPIFY_THROTTLED"
    retryable = True


class ShopifyUnavailable(ShopifyError):
    """A 5xx answer, a timeout or a network failure: worth retrying later."""

    code = "SHOPIFY_UNAVAILABLE"
    status_code = 503
    retryable = True


class ShopifyAuthError(ShopifyError):
    """Shopify refused our access token (401/403) or a token grant (invalid_grant, invalid_subject_token...)."""

    code = "SHOPIFY_AUTH_ERROR"


class ShopifyGraphQLError(ShopifyError):
    """The GraphQL document was answered with `errors` (invalid field, bad variables, access denied...)."""

    code = "SHOPIFY_GRAPHQL_ERROR"


class ShopNotInstalled(AppError):
    """No usable offline token for this shop: it never installed, uninstalled, or needs to re-authorize."""

    status_code = 401
    code = "SHOP_NOT_INSTALLED"
