"""The webhook listener against real HTTP requests (aiohttp client) and the real store:
signatures and tokens refused (nothing stored) or accepted (202 after the row is
durable), redeliveries stored once, body limits and content types."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from pulsed.config.ingest import WebhookRoute, WebhooksConfig
from pulsed.ingest.appender import Ingestor
from pulsed.ingest.webhooks import WebhookServer, parse_body, signature, split_listen
from pulsed.store.local import LocalStore

SECRET = "s3cret"


@pytest.fixture
async def server(local_store: LocalStore, ingestor: Ingestor) -> AsyncIterator[WebhookServer]:
    cfg = WebhooksConfig(
        listen="127.0.0.1:0",
        max_body_bytes=2048,
        routes={
            "github": WebhookRoute(secret=SECRET),
            "ci": WebhookRoute(token="tok-123", kind_header="X-Kind", id_header="X-Id"),
        },
    )
    srv = WebhookServer(cfg, ingestor, local_store)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def post(
    srv: WebhookServer, route: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://{srv.address}/hooks/{route}", data=body, headers=headers) as r,
    ):
        return r.status, await r.json()


async def test_signed_requests_are_stored_and_bad_ones_are_not(
    server: WebhookServer, local_store: LocalStore
) -> None:
    body = json.dumps({"action": "opened", "number": 5}).encode()
    base = {"Content-Type": "application/json", "X-GitHub-Event": "pull_request"}
    status, _ = await post(server, "github", body, base)
    assert status == 401
    status, _ = await post(
        server, "github", body, {**base, "X-Hub-Signature-256": signature("wrong", body)}
    )
    assert status == 403
    status, _ = await post(
        server, "github", body + b" ", {**base, "X-Hub-Signature-256": signature(SECRET, body)}
    )
    assert status == 403  # the signature covers the exact body
    assert await local_store.count("ingest") == 0

    signed = {**base, "X-Hub-Signature-256": signature(SECRET, body), "X-GitHub-Delivery": "d1"}
    status, answer = await post(server, "github", body, signed)
    assert status == 202 and answer["duplicate"] is False
    again, answer2 = await post(server, "github", body, signed)  # a redelivery
    assert again == 202 and answer2["duplicate"] is True
    [row] = await local_store.query("ingest")
    assert row.seq == answer["seq"]
    assert row["source"] == "webhook:github" and row["kind"] == "pull_request"
    assert row["payload"] == {"action": "opened", "number": 5}
    assert row["dedupe_key"] == "webhook:github:d1"


async def test_bearer_tokens_limits_and_content_types(
    server: WebhookServer, local_store: LocalStore
) -> None:
    form = b"status=failed&branch=main"
    ok = {"Content-Type": "application/x-www-form-urlencoded", "X-Kind": "build"}
    assert (await post(server, "ci", form, ok))[0] == 401
    bad = {**ok, "Authorization": "Bearer nope"}
    assert (await post(server, "ci", form, bad))[0] == 403
    good = {**ok, "Authorization": "Bearer tok-123"}
    assert (await post(server, "ci", b"x" * 4096, good))[0] == 413
    assert (await post(server, "ci", b"\x00", {**good, "Content-Type": "image/png"}))[0] == 415
    bad_json = {**good, "Content-Type": "application/json"}
    assert (await post(server, "ci", b"{nope", bad_json))[0] == 400
    assert (await post(server, "nowhere", form, good))[0] == 404
    assert await local_store.count("ingest") == 0
    status, _ = await post(server, "ci", form, good)
    assert status == 202
    [row] = await local_store.query("ingest")
    assert row["payload"] == {"status": "failed", "branch": "main"} and row["kind"] == "build"
    assert row["dedupe_key"] == ""  # no id header: never deduplicated
    [event] = await local_store.query("events")
    assert event["event_type"] == "webhooks_listening"
    assert event["payload"]["address"] == server.address


async def test_no_routes_no_listener(local_store: LocalStore, ingestor: Ingestor) -> None:
    srv = WebhookServer(WebhooksConfig(listen="127.0.0.1:0"), ingestor, local_store)
    await srv.start()
    assert srv.address == ""
    await srv.stop()


def test_bodies_and_addresses() -> None:
    github_form = b"payload=" + b"%7B%22a%22%3A1%7D"
    assert parse_body("application/x-www-form-urlencoded", github_form) == {"a": 1}
    assert parse_body("text/plain; charset=utf-8", b"hi") == {"text": "hi"}
    assert parse_body("application/vnd.api+json", b"[1]") == [1]
    assert parse_body("application/json", b"") == {}
    with pytest.raises(TypeError):
        parse_body("image/png", b"x")
    assert split_listen("127.0.0.1:8787") == ("127.0.0.1", 8787)
    assert split_listen("[::1]:0") == ("::1", 0)
    from pulsed.errors import ConfigError

    for bad in ("localhost", ":80", "host:x", "host:70000"):
        with pytest.raises(ConfigError, match="host:port"):
            split_listen(bad)


async def test_concurrent_deliveries_with_one_id_are_stored_once(
    server: WebhookServer, local_store: LocalStore
) -> None:
    body = b'{"x": 1}'
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": signature(SECRET, body),
        "X-GitHub-Delivery": "same",
    }
    answers = await asyncio.gather(*(post(server, "github", body, headers) for _ in range(5)))
    assert [s for s, _ in answers] == [202] * 5
    assert sum(1 for _, a in answers if not a["duplicate"]) == 1
    assert await local_store.count("ingest") == 1
