"""What a service raises when it will not do what it was asked (one shape for all of them)."""

from __future__ import annotations


class Refused(Exception):
    """A refusal: `code` and `param` name the reason as the API's error envelope does, and
    `message` is safe to show to the caller. `status` is the HTTP status the API answers with:
    400 for the caller's error, 503 when a network the answer needs does not respond."""

    def __init__(self, code: str, message: str, param: str | None = None, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.status = status
