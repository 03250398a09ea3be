"""Errors of the fault proxy's HTTP API, answered as Toxiproxy does: ``{"error": msg, "status": code}``."""

from __future__ import annotations


class ApiError(Exception):
    """A request the proxy cannot carry out; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def payload(self) -> dict[str, object]:
        return {"error": self.message, "status": self.status}


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def conflict(what: str) -> ApiError:
    return ApiError(409, f"{what} already exists")
