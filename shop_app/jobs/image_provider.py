"""Text → image through an OpenAI-compatible images API (the engine has no text model; see
generation/text_to_image.py for the seam this fills).

    POST {NU3D_IMAGE_API_BASE_URL}/images/generations
    Authorization: Bearer {NU3D_IMAGE_API_KEY}
    {"model": ..., "prompt": ..., "n": 1, "size": "1024x1024", "response_format": "b64_json"}
    → 200 {"created": 1700000000, "data": [{"b64_json": "<base64 PNG>", "revised_prompt": "..."}]}
    → 4xx/5xx {"error": {"message": ..., "type": ..., "code": ...}}

OpenAI, Azure OpenAI's compatible endpoint, LocalAI, vLLM and most hosted image models speak this shape. A
`url` instead of `b64_json` in the answer is downloaded. 429, 5xx and network errors are retried (bounded
attempts, honouring `Retry-After`); 4xx answers (a refused prompt, a bad key) are not.

`generate()` is for the worker (blocking), `agenerate()` for web handlers (on the app's shared AsyncClient).
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from shop_app.jobs.images import InvalidImage, inspect_image

if TYPE_CHECKING:
    from shop_app.settings import Settings

logger = logging.getLogger(__name__)

SETTING = "NU3D_IMAGE_API_BASE_URL"
NOT_CONFIGURED = f"text prompts need an image provider: set {SETTING} (an OpenAI-compatible images API)"
MAX_RETRY_AFTER_S = 60.0
MAX_IMAGE_BYTES = 20 * 1024 * 1024


class ImageProviderError(Exception):
    """The provider gave no usable image. `code` is stable (it lands on failed jobs); the message says why."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        retryable: bool,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable
        self.status = status
        self.retry_after_s = retry_after_s

    def __repr__(self) -> str:
        return f"ImageProviderError(code={self.code!r}, status={self.status!r}, message={self.message!r})"


class ImageProviderNotConfigured(ImageProviderError):
    def __init__(self) -> None:
        super().__init__(NOT_CONFIGURED, code="image_provider_not_configured", retryable=False)


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes
    content_type: str
    suffix: str
    revised_prompt: str | None = None


@dataclass(frozen=True)
class ImageApiConfig:
    """Parameters:
    base_url: the API root, e.g. https://api.openai.com/v1 (the request goes to {base_url}/images/generations).
    api_key: sent as `Authorization: Bearer`; None sends no header (local servers).
    model, size: what to ask for.
    response_format: "b64_json", "url", or "" to leave the field out.
    timeout_s: timeout of one request (image models take tens of seconds).
    max_attempts: attempts in all, on 429/5xx/network errors.
    """

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    model: str = "dall-e-3"
    size: str = "1024x1024"
    response_format: str = "b64_json"
    timeout_s: float = 120.0
    max_attempts: int = 3
    retry_wait_initial_s: float = 1.0
    retry_wait_max_s: float = 20.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ImageApiConfig | None:
        if not settings.image_api_base_url:
            return None
        return cls(
            base_url=settings.image_api_base_url.rstrip("/"),
            api_key=settings.image_api_key.get_secret_value() if settings.image_api_key else None,
            model=settings.image_api_model,
            size=settings.image_api_size,
            response_format=settings.image_api_response_format,
            timeout_s=settings.image_api_timeout_s,
            max_attempts=settings.image_api_max_attempts,
        )

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/images/generations"


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), capped; None when absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, min(MAX_RETRY_AFTER_S, seconds))


def _provider_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if isinstance(message, str):
        return message[:500]
    if isinstance(error, str):
        return error[:500]
    return str(body)[:300]


class OpenAIImages:
    """An OpenAI-compatible images client. Implements generation.text_to_image.TextToImage."""

    def __init__(self, config: ImageApiConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self._transport = transport
        self._client: httpx.Client | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIImages | None:
        config = ImageApiConfig.from_settings(settings)
        return None if config is None else cls(config)

    # ------------------------------------------------------------------------------------ request/answer

    def _request(self, prompt: str, user: str | None) -> tuple[dict[str, str], dict[str, Any]]:
        headers = {"Accept": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        body: dict[str, Any] = {
            "model": self.config.model,
            "prompt": prompt,
            "n": 1,
            "size": self.config.size,
        }
        if self.config.response_format:
            body["response_format"] = self.config.response_format
        if user:
            body["user"] = user[:256]
        return headers, body

    def _check_status(self, response: httpx.Response) -> None:
        if response.status_code == 200:
            return
        message = f"the image provider answered {response.status_code}: {_provider_message(response)}"
        retryable = response.status_code == 429 or response.status_code >= 500
        code = "image_provider_unavailable" if retryable else "image_provider_rejected"
        raise ImageProviderError(
            message,
            code=code,
            retryable=retryable,
            status=response.status_code,
            retry_after_s=_retry_after(response.headers.get("retry-after")),
        )

    def _first_item(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
            item = body["data"][0]
            if not isinstance(item, dict):
                raise TypeError
            return item
        except (ValueError, KeyError, IndexError, TypeError):
            raise ImageProviderError(
                'the image provider\'s answer has no "data" list of images',
                code="image_provider_bad_response",
                retryable=False,
            ) from None

    def _image(self, item: dict[str, Any], data: bytes) -> GeneratedImage:
        try:
            info = inspect_image(data, name="the generated image", max_bytes=MAX_IMAGE_BYTES)
        except InvalidImage as err:
            raise ImageProviderError(str(err), code="image_provider_bad_response", retryable=False) from None
        revised = item.get("revised_prompt")
        return GeneratedImage(
            data=data,
            content_type="image/png" if info.format == "PNG" else "image/jpeg",
            suffix=info.suffix,
            revised_prompt=revised if isinstance(revised, str) else None,
        )

    @staticmethod
    def _b64(item: dict[str, Any]) -> bytes | None:
        value = item.get("b64_json")
        if not isinstance(value, str):
            return None
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ImageProviderError(
                "the image provider's b64_json is not base64",
                code="image_provider_bad_response",
                retryable=False,
            ) from None

    @staticmethod
    def _url(item: dict[str, Any]) -> str:
        url = item.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ImageProviderError(
                "the image provider's answer holds neither b64_json nor a URL",
                code="image_provider_bad_response",
                retryable=False,
            )
        return url

    # ------------------------------------------------------------------------------------------- retries

    def _retry_kwargs(self) -> dict[str, Any]:
        first, cap = self.config.retry_wait_initial_s, self.config.retry_wait_max_s
        backoff = wait_exponential_jitter(multiplier=first, max=cap, jitter=first)

        def wait(state: RetryCallState) -> float:
            err = state.outcome.exception() if state.outcome else None
            if isinstance(err, ImageProviderError) and err.retry_after_s is not None:
                return err.retry_after_s
            return backoff(state)

        def log(state: RetryCallState) -> None:
            err = state.outcome.exception() if state.outcome else None
            logger.warning("image provider attempt %d failed, retrying: %s", state.attempt_number, err)

        return {
            "stop": stop_after_attempt(self.config.max_attempts),
            "wait": wait,
            "retry": retry_if_exception(lambda e: isinstance(e, ImageProviderError) and e.retryable),
            "before_sleep": log,
            "reraise": True,
        }

    @staticmethod
    def _network_error(err: httpx.HTTPError) -> ImageProviderError:
        return ImageProviderError(
            f"the image provider cannot be reached: {type(err).__name__}: {err}",
            code="image_provider_unavailable",
            retryable=True,
        )

    # ---------------------------------------------------------------------------------------- blocking

    def generate(self, prompt: str, *, user: str | None = None) -> GeneratedImage:
        """One image for `prompt` (worker side; blocks for the provider's generation time)."""
        if self._client is None:
            self._client = httpx.Client(
                timeout=httpx.Timeout(self.config.timeout_s, connect=10.0), transport=self._transport
            )
        client = self._client
        headers, body = self._request(prompt, user)

        def once() -> GeneratedImage:
            try:
                response = client.post(self.config.endpoint, json=body, headers=headers)
                self._check_status(response)
                item = self._first_item(response)
                data = self._b64(item)
                if data is None:
                    download = client.get(self._url(item))
                    self._check_status(download)
                    data = download.content
            except httpx.HTTPError as err:
                raise self._network_error(err) from None
            return self._image(item, data)

        return Retrying(**self._retry_kwargs())(once)

    def image_for_prompt(self, prompt: str) -> bytes:
        return self.generate(prompt).data

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # ------------------------------------------------------------------------------------------- async

    async def agenerate(
        self, prompt: str, *, client: httpx.AsyncClient, user: str | None = None
    ) -> GeneratedImage:
        """As generate(), on the caller's AsyncClient (the web app's shared one) with this API's timeout."""
        headers, body = self._request(prompt, user)
        timeout = httpx.Timeout(self.config.timeout_s, connect=10.0)

        async def once() -> GeneratedImage:
            try:
                response = await client.post(
                    self.config.endpoint, json=body, headers=headers, timeout=timeout
                )
                self._check_status(response)
                item = self._first_item(response)
                data = self._b64(item)
                if data is None:
                    download = await client.get(self._url(item), timeout=timeout)
                    self._check_status(download)
                    data = download.content
            except httpx.HTTPError as err:
                raise self._network_error(err) from None
            return self._image(item, data)

        return await AsyncRetrying(**self._retry_kwargs())(once)
