"""The aiohttp application: routes, the bearer-token check and OpenAI-style errors.

Every request, unknown paths included, must carry ``Authorization: Bearer <token>``
(``[api.http] token``), compared in constant time (``hmac.compare_digest``); the body
is read only after that, up to ``max_body_bytes``. Every error answer is an OpenAI
error object (``pulsed.http_api.errors``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from pulsed.http_api import completions
from pulsed.http_api.completions import HttpDeps
from pulsed.http_api.errors import ApiError
from pulsed.http_api.models import model_object, offered, resolve

log = logging.getLogger("pulsed.http_api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
DEPS = web.AppKey("deps", HttpDeps)


def token_matches(header: str, token: str) -> bool:
    """Whether an ``Authorization`` header value carries ``token`` as a bearer token.

    The SHA-256 digests are compared with ``hmac.compare_digest``, so the time taken
    tells neither the token's characters nor its length; an empty ``token`` matches
    nothing."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    given = hashlib.sha256(value.strip().encode()).digest()
    return hmac.compare_digest(given, hashlib.sha256(token.encode()).digest())


def error_response(err: ApiError) -> web.Response:
    """``err`` as its JSON answer."""
    return web.json_response(err.body(), status=err.status, headers=err.headers)


def _http_error(e: web.HTTPException, max_body: int) -> ApiError:
    """aiohttp's own refusals (no route, wrong method, body too large) as ApiErrors."""
    if isinstance(e, web.HTTPRequestEntityTooLarge):
        return ApiError(
            413,
            f"the request body is larger than {max_body} bytes ([api.http] max_body_bytes)",
            code="request_too_large",
        )
    if isinstance(e, web.HTTPNotFound):
        return ApiError(
            404,
            "no such endpoint: use GET /v1/models or POST /v1/chat/completions",
            code="not_found",
        )
    if isinstance(e, web.HTTPMethodNotAllowed):
        return ApiError(
            405,
            f"{e.method} is not allowed here; use {', '.join(sorted(e.allowed_methods))}",
            code="method_not_allowed",
        )
    return ApiError(e.status, e.reason, code="http_error")


@web.middleware
async def errors_and_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Check the token, run the handler, and turn whatever it raises into an OpenAI
    error object (an unexpected exception: 500, logged with its traceback). Each
    request is logged at debug level with its status and duration."""
    started = time.monotonic()
    resp = await _answer(request, handler)
    log.debug(
        "http api: %s %s -> %d in %.0f ms",
        request.method,
        request.path,
        resp.status,
        (time.monotonic() - started) * 1000,
    )
    return resp


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    deps = request.app[DEPS]
    max_body = deps.cfg.api.http.max_body_bytes
    try:
        if not token_matches(request.headers.get("Authorization", ""), deps.cfg.api.http.token):
            given = "Authorization" in request.headers
            log.info(
                "http api: %s %s from %s refused: %s",
                request.method,
                request.path,
                request.remote,
                "wrong token" if given else "no token",
            )
            raise ApiError(
                401,
                "wrong bearer token"
                if given
                else "no bearer token: send Authorization: Bearer <the [api.http] token>",
                code="invalid_api_key",
                headers={"WWW-Authenticate": 'Bearer realm="pulse"'},
            )
        return await handler(request)
    except ApiError as e:
        return error_response(e)
    except web.HTTPException as e:
        return error_response(_http_error(e, max_body))
    except Exception:
        log.exception("http api: %s %s failed", request.method, request.path)
        return error_response(
            ApiError(
                500, "internal error; see the pulsed log", type="server_error", code="internal"
            )
        )


async def list_models(request: web.Request) -> web.Response:
    """``GET /v1/models``."""
    deps = request.app[DEPS]
    data = [model_object(m, deps.started) for m in offered(deps.providers.chain())]
    return web.json_response({"object": "list", "data": data})


async def get_model(request: web.Request) -> web.Response:
    """``GET /v1/models/{model}``; 404 for a model not offered."""
    deps = request.app[DEPS]
    model = resolve(request.match_info["model"], deps.providers.chain())
    return web.json_response(model_object(model, deps.started))


async def chat_completions(request: web.Request) -> web.StreamResponse:
    """``POST /v1/chat/completions``."""
    return await completions.handle(request, request.app[DEPS])


async def _server_header(request: web.Request, response: web.StreamResponse) -> None:
    """Name the server without the versions of Python and aiohttp."""
    response.headers["Server"] = "pulsed"


def build_app(deps: HttpDeps) -> web.Application:
    """The application serving ``deps``; bodies over ``max_body_bytes`` get 413."""
    app = web.Application(
        middlewares=[errors_and_auth], client_max_size=deps.cfg.api.http.max_body_bytes
    )
    app[DEPS] = deps
    app.on_response_prepare.append(_server_header)
    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/v1/models/{model:.+}", get_model)
    app.router.add_post("/v1/chat/completions", chat_completions)
    return app
