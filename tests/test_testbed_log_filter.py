"""A peer that vanished during a TLS close is not a bug of this node: hypercorn's "SSL shutdown timed out"
is logged as a WARNING; any other ERROR stays an ERROR (the log scan must still see real bugs)."""

import logging

from testbed.logs import PeerGoneFilter


def record(error: BaseException, level: int = logging.ERROR) -> logging.LogRecord:
    try:
        raise error
    except BaseException as exc:  # noqa: BLE001 - building exc_info
        info = (type(exc), exc, exc.__traceback__)
    return logging.LogRecord("asyncio", level, __file__, 1, "Unhandled exception in client_connected_cb", None, info)


def test_ssl_shutdown_timeout_becomes_a_warning_and_other_errors_stay():
    gone = record(TimeoutError("SSL shutdown timed out"))
    assert PeerGoneFilter().filter(gone) and gone.levelname == "WARNING" and gone.levelno == logging.WARNING
    other = record(TimeoutError("commit timed out"))
    assert PeerGoneFilter().filter(other) and other.levelname == "ERROR"
    bug = record(KeyError("x"))
    assert PeerGoneFilter().filter(bug) and bug.levelname == "ERROR"
