"""API errors with the messages and status codes Toxiproxy uses."""

from __future__ import annotations


class ApiError(Exception):
    """An error the HTTP API reports as `{"error": message, "status": status}`."""

    def __init__(self, message: str, status: int, allow: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.allow = allow  # a 405's methods, for its Allow header (RFC 9110)

    def to_json(self) -> dict[str, object]:
        return {"error": self.message, "status": self.status}


def bad_request(detail: str) -> ApiError:
    return ApiError(f"bad request body: {detail}", 400)


def missing_field(field: str) -> ApiError:
    return ApiError(f"missing required field: {field}", 400)


PROXY_NOT_FOUND = "proxy not found"
PROXY_ALREADY_EXISTS = "proxy already exists"
INVALID_STREAM = "stream was invalid, can be either upstream or downstream"
INVALID_TOXIC_TYPE = "invalid toxic type"
TOXIC_ALREADY_EXISTS = "toxic already exists"
TOXIC_NOT_FOUND = "toxic not found"


def proxy_not_found() -> ApiError:
    return ApiError(PROXY_NOT_FOUND, 404)


def toxic_not_found() -> ApiError:
    return ApiError(TOXIC_NOT_FOUND, 404)
