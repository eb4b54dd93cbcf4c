"""The client library's one error translation: status code + details + the daemon's
``pulse-error`` trailer → ``ServerError`` or ``DaemonUnreachable``."""

from __future__ import annotations

from typing import Any

import grpc
import grpc.aio
import pytest

from pulsectl.client.errors import (
    ERROR_TRAILER,
    ClientError,
    DaemonUnreachable,
    ServerError,
    from_status,
    no_daemon,
    translate,
)


def test_unavailable_with_the_trailer_is_the_daemon_answering() -> None:
    err = from_status("UNAVAILABLE", "store down: disk full", [(ERROR_TRAILER, "StoreError")])
    assert isinstance(err, ServerError) and not err.unreachable
    assert (err.code, err.details, err.error) == (
        "UNAVAILABLE",
        "store down: disk full",
        "StoreError",
    )
    assert err.message == "UNAVAILABLE: store down: disk full" and err.hint == ""


def test_unavailable_without_the_trailer_is_an_unreachable_daemon() -> None:
    err = from_status("UNAVAILABLE", "failed to connect to all addresses", [], "/tmp/p.sock")
    assert isinstance(err, DaemonUnreachable) and err.unreachable
    assert err.code == "UNAVAILABLE" and err.error == ""
    assert err.message == "UNAVAILABLE: failed to connect to all addresses"
    assert err.hint == "the daemon on /tmp/p.sock stopped answering; is pulsed running?"


@pytest.mark.parametrize("details", ["", "Socket closed", "anything at all, in any words"])
def test_no_english_text_decides(details: str) -> None:
    assert isinstance(from_status("UNAVAILABLE", details), DaemonUnreachable)
    assert isinstance(
        from_status("UNAVAILABLE", details, [(ERROR_TRAILER, b"ProviderError")]), ServerError
    )


def test_unavailable_without_details_or_socket() -> None:
    err = from_status("UNAVAILABLE")
    assert (err.message, err.hint) == ("UNAVAILABLE", "")


@pytest.mark.parametrize(
    "code", ["INVALID_ARGUMENT", "NOT_FOUND", "FAILED_PRECONDITION", "INTERNAL", "CANCELLED"]
)
def test_other_codes_are_server_errors_with_or_without_the_trailer(code: str) -> None:
    plain = from_status(code, "what went wrong")
    assert isinstance(plain, ServerError) and plain.message == f"{code}: what went wrong"
    tagged = from_status(code, "x", [("other", "1"), (ERROR_TRAILER, b"NotFound")])
    assert isinstance(tagged, ServerError) and tagged.error == "NotFound"


def test_an_unknown_code() -> None:
    err = from_status(None)
    assert isinstance(err, ServerError) and err.message == "UNKNOWN"


def test_no_daemon_words() -> None:
    err = no_daemon("/run/p.sock", "try this")
    assert isinstance(err, DaemonUnreachable) and isinstance(err, ClientError)
    assert (err.message, err.hint) == ("no daemon answers on /run/p.sock", "try this")


def aio_error(code: grpc.StatusCode, details: str, trailers: Any = ()) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailers), details=details
    )


def test_translate_reads_an_aio_error() -> None:
    store_down = aio_error(
        grpc.StatusCode.UNAVAILABLE, "store down", [(ERROR_TRAILER, "StoreError")]
    )
    assert isinstance(translate(store_down), ServerError)
    lost = translate(aio_error(grpc.StatusCode.UNAVAILABLE, "Socket closed"), "/s.sock")
    assert isinstance(lost, DaemonUnreachable) and "/s.sock" in lost.hint
    refused = translate(aio_error(grpc.StatusCode.NOT_FOUND, "no stream nope"))
    assert (refused.code, refused.details) == ("NOT_FOUND", "no stream nope")


def test_translate_of_an_error_that_is_not_a_call() -> None:
    err = translate(grpc.RpcError("odd"))
    assert isinstance(err, ServerError) and err.code == "UNKNOWN"


def test_every_public_name_of_the_package_resolves() -> None:
    import pulsectl.client as library

    for name in library.__all__:
        assert getattr(library, name) is not None, name
    with pytest.raises(AttributeError):
        _ = library.nothing_of_the_sort
