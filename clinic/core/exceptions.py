from typing import Any


class ApplicationError(Exception):
    """A domain rule refused the operation. Rendered as `{detail, rule, ...extra}`.

    `status` is 409 for a rule refusal (the default), 404 for "not yours / not there".
    """

    def __init__(self, message: str, *, rule: str, status: int = 409, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.status = status
        self.extra = extra or {}
