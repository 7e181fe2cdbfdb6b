class ApplicationError(Exception):
    """A business rule refused the operation; `message` is shown to the user as is (French)."""

    def __init__(self, message, extra=None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class PermissionRefused(ApplicationError):
    """The user may read the object but not do this to it (HTTP 403)."""
