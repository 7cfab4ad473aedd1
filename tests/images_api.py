"""A stand-in for an OpenAI-compatible images API on loopback (port 0), speaking its documented shapes.

    POST /v1/images/generations   {"model", "prompt", "n", "size", "response_format", "user"?}
      200 {"created": <unix>, "data": [{"b64_json": "<PNG>", "revised_prompt": "..."}]}   (or "url")
      4xx/5xx {"error": {"message", "type", "param", "code"}}
    GET /v1/files/<name>.png       the image behind a "url" answer

The PNG is small and drawn from the prompt (its colour depends on the prompt's hash), so distinct prompts give
distinct images. `script` holds canned failures to serve first: (status, headers, error-message) tuples.
`requests` records every generation request body; `auth` every Authorization header seen.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image, ImageDraw

SIZES = {"256x256", "512x512", "1024x1024", "1536x1024", "1024x1536", "1792x1024", "1024x1792", "auto"}


def prompt_png(prompt: str, side: int = 48) -> bytes:
    """A product-like picture: a coloured box on a white background (the engine can segment it)."""
    digest = hashlib.sha256(prompt.encode()).digest()
    img = Image.new("RGB", (side, side), (255, 255, 255))
    ImageDraw.Draw(img).rectangle(
        (side // 4, side // 5, 3 * side // 4, 4 * side // 5), fill=(digest[0], digest[1], digest[2])
    )
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


class ImagesApi:
    def __init__(self, *, api_key: str | None = "sk-test-images", side: int = 48) -> None:
        self.api_key = api_key
        self.side = side
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        self.script: deque[tuple[int, dict[str, str], str]] = deque()
        self.files: dict[str, bytes] = {}
        self.hold = threading.Event()  # clear() makes generations wait until set() (a slow provider)
        self.hold.set()
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _send(
                self,
                status: int,
                body: bytes,
                headers: dict[str, str] | None = None,
                ctype: str = "application/json",
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _error(
                self,
                status: int,
                message: str,
                *,
                param: str | None = None,
                code: str | None = None,
                headers: dict[str, str] | None = None,
            ) -> None:
                kind = "invalid_request_error" if status < 500 else "server_error"
                body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
                self._send(status, json.dumps(body).encode(), headers)

            def do_GET(self) -> None:  # noqa: N802
                name = self.path.rsplit("/", 1)[-1]
                data = api.files.get(name)
                if not self.path.startswith("/v1/files/") or data is None:
                    return self._error(404, "No such file")
                self._send(200, data, ctype="image/png")

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path != "/v1/images/generations":
                    return self._error(404, f"Unknown request URL: POST {self.path}.")
                with api._lock:
                    api.auth.append(self.headers.get("Authorization"))
                    scripted = api.script.popleft() if api.script else None
                if api.api_key and self.headers.get("Authorization") != f"Bearer {api.api_key}":
                    return self._error(401, "Incorrect API key provided.", code="invalid_api_key")
                try:
                    body = json.loads(raw)
                except ValueError:
                    return self._error(400, "We could not parse the JSON body of your request.")
                with api._lock:
                    api.requests.append(body)
                if scripted is not None:
                    status, headers, message = scripted
                    if status == 200:  # a canned (possibly malformed) success body
                        return self._send(200, message.encode(), headers)
                    return self._error(status, message, headers=headers)
                problem = api.validate(body)
                if problem is not None:
                    return self._error(400, problem[1], param=problem[0])
                api.hold.wait(timeout=30)
                png = prompt_png(body["prompt"], api.side)
                item: dict[str, Any] = {"revised_prompt": f"A product photo of {body['prompt']}"}
                # The documented default is a URL, except for gpt-image-* models, which always answer base64.
                default = "b64_json" if str(body.get("model", "")).startswith("gpt-image") else "url"
                if body.get("response_format", default) == "url":
                    name = hashlib.sha256(png).hexdigest()[:16] + ".png"
                    api.files[name] = png
                    host, port = self.server.server_address[:2]
                    item["url"] = f"http://{host}:{port}/v1/files/{name}"
                else:
                    item["b64_json"] = base64.b64encode(png).decode()
                self._send(200, json.dumps({"created": int(time.time()), "data": [item]}).encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def validate(body: Any) -> tuple[str, str] | None:
        """(param, message) for a request the real API would refuse, else None."""
        if not isinstance(body, dict):
            return "body", "The request body must be a JSON object."
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return "prompt", "Missing required parameter: 'prompt'."
        if not isinstance(body.get("model", ""), str):
            return "model", "Invalid type for 'model': expected a string."
        n = body.get("n", 1)
        if not isinstance(n, int) or not 1 <= n <= 10:
            return "n", "Invalid 'n': must be an integer between 1 and 10."
        if body.get("size", "1024x1024") not in SIZES:
            return "size", f"Invalid value: '{body.get('size')}'. Supported values are: {sorted(SIZES)}."
        if body.get("response_format", "url") not in {"url", "b64_json"}:
            return "response_format", "Invalid 'response_format': must be 'url' or 'b64_json'."
        return None

    def __enter__(self) -> ImagesApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, status: int, message: str = "The server had an error", **headers: str) -> None:
        self.script.append((status, {k.replace("_", "-"): v for k, v in headers.items()}, message))
