"""The one error type users see: a message tied to a file and, where known, a line."""

from __future__ import annotations


class BroadsheetError(Exception):
    """A problem with the user's input, reported as `path:line: message`."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self) -> str:
        where = self.path or ""
        if where and self.line:
            where = f"{where}:{self.line}"
        return f"{where}: {self.message}" if where else self.message


class BuildFailed(Exception):
    """The build stopped because of one or more input errors (each a BroadsheetError)."""

    def __init__(self, errors: list[BroadsheetError]) -> None:
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors
