"""The OpenAI-compatible images client against a stand-in server speaking that API's shapes on loopback."""

from __future__ import annotations

import asyncio
import email.utils
import io
import time
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from shop_app.jobs.image_provider import ImageApiConfig, ImageProviderError, OpenAIImages, _retry_after
from tests.conftest import free_port
from tests.images_api import ImagesApi, prompt_png


@pytest.fixture
def api() -> Iterator[ImagesApi]:
    with ImagesApi() as server:
        yield server


def client_for(api: ImagesApi, **overrides: object) -> OpenAIImages:
    config = {
        "base_url": api.base_url,
        "api_key": "sk-test-images",
        "model": "dall-e-3",
        "retry_wait_initial_s": 0.01,
        "retry_wait_max_s": 0.05,
        **overrides,
    }
    return OpenAIImages(ImageApiConfig(**config))  # type: ignore[arg-type]


def test_a_prompt_becomes_a_png_through_the_documented_request(api: ImagesApi) -> None:
    image = client_for(api, size="512x512").generate("A red sports car", user="user_1")
    assert image.data == prompt_png("A red sports car")
    assert image.content_type == "image/png" and image.suffix == ".png"
    assert image.revised_prompt == "A product photo of A red sports car"
    assert Image.open(io.BytesIO(image.data)).size == (48, 48)
    assert api.requests == [
        {
            "model": "dall-e-3",
            "prompt": "A red sports car",
            "n": 1,
            "size": "512x512",
            "response_format": "b64_json",
            "user": "user_1",
        }
    ]
    assert api.auth == ["Bearer sk-test-images"]


def test_a_url_answer_is_downloaded(api: ImagesApi) -> None:
    image = client_for(api, response_format="url").generate("A blue kettle")
    assert image.data == prompt_png("A blue kettle")


def test_response_format_can_be_left_out(api: ImagesApi) -> None:
    # gpt-image-* models always answer base64 and reject the field; other models then answer with a URL.
    assert client_for(api, response_format="", model="gpt-image-1").generate("A lamp").data == prompt_png(
        "A lamp"
    )
    assert client_for(api, response_format="", model="dall-e-2").generate("A rug").data == prompt_png("A rug")
    assert [("response_format" in r, r["model"]) for r in api.requests] == [
        (False, "gpt-image-1"),
        (False, "dall-e-2"),
    ]
    assert api.files  # the second answer was a URL


def test_429_is_retried_after_retry_after(api: ImagesApi) -> None:
    api.fail_next(429, "Rate limit reached for images per minute", Retry_After="0")
    started = time.monotonic()
    assert client_for(api).generate("A mug").data == prompt_png("A mug")
    assert len(api.requests) == 2
    assert time.monotonic() - started < 5


def test_5xx_is_retried_and_then_given_up(api: ImagesApi) -> None:
    for _ in range(3):
        api.fail_next(503, "The engine is currently overloaded")
    with pytest.raises(ImageProviderError) as info:
        client_for(api, max_attempts=3).generate("A chair")
    assert len(api.requests) == 3
    assert info.value.code == "image_provider_unavailable" and info.value.retryable
    assert "503" in info.value.message and "overloaded" in info.value.message


def test_two_failures_then_success_within_the_attempts(api: ImagesApi) -> None:
    api.fail_next(500)
    api.fail_next(502)
    assert client_for(api, max_attempts=3).generate("A vase").data == prompt_png("A vase")
    assert len(api.requests) == 3


def test_a_refused_prompt_is_not_retried(api: ImagesApi) -> None:
    api.fail_next(400, "Your request was rejected as a result of our safety system.")
    with pytest.raises(ImageProviderError) as info:
        client_for(api).generate("something unsafe")
    assert len(api.requests) == 1
    assert info.value.code == "image_provider_rejected" and not info.value.retryable
    assert "safety system" in info.value.message


def test_a_wrong_key_is_rejected_with_the_providers_words(api: ImagesApi) -> None:
    with pytest.raises(ImageProviderError, match="Incorrect API key") as info:
        client_for(api, api_key="sk-wrong").generate("A desk")
    assert info.value.status == 401 and not info.value.retryable


def test_a_bad_request_shape_is_the_providers_400(api: ImagesApi) -> None:
    with pytest.raises(ImageProviderError, match="Invalid value: '17x17'"):
        client_for(api, size="17x17").generate("A desk")


@pytest.mark.parametrize(
    "body",
    [
        '{"created": 1, "data": []}',
        '{"created": 1, "data": [{"b64_json": "%%%"}]}',
        '{"data": [{"b64_json": "aGVsbG8="}]}',
    ],
)
def test_unusable_answers_are_reported(api: ImagesApi, body: str) -> None:
    api.fail_next(200, body)
    with pytest.raises(ImageProviderError) as info:
        client_for(api).generate("A pot")
    assert info.value.code == "image_provider_bad_response"
    assert len(api.requests) == 1


def test_an_unreachable_provider_is_retried_then_reported() -> None:
    client = OpenAIImages(
        ImageApiConfig(
            base_url=f"http://127.0.0.1:{free_port()}/v1", max_attempts=2, retry_wait_initial_s=0.01
        )
    )
    with pytest.raises(ImageProviderError) as info:
        client.generate("A spoon")
    assert info.value.code == "image_provider_unavailable"
    assert "cannot be reached" in info.value.message


def test_the_async_client_shares_the_shapes_and_retries(api: ImagesApi) -> None:
    api.fail_next(429, "slow down", Retry_After="0")

    async def go() -> bytes:
        async with httpx.AsyncClient() as http:
            return (await client_for(api).agenerate("A teapot", client=http)).data

    assert asyncio.run(go()) == prompt_png("A teapot")
    assert len(api.requests) == 2


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert _retry_after("3") == 3.0
    assert _retry_after(None) is None and _retry_after("soon") is None
    assert _retry_after("100000") == 60.0  # capped: a provider cannot park a worker for a day
    later = email.utils.formatdate(time.time() + 20, usegmt=True)
    assert 15 <= (_retry_after(later) or 0) <= 21
