"""Domain exceptions: each message tells the user what is wrong and what to do about it.

The category of an error is its type, never a prefix in its text: `str(exc)` reads
`subject: file: detail` (`features: logs.csv: the file is empty`), built from attributes, and
`exit_code` is what the command line returns for it. The tree:

    AnomalyLensError              exit 2: bad input, usage or configuration
    ├── MetadataError             subject "metadata": the anomaly metadata is unusable
    ├── FeatureFileError          subject "features": a feature file cannot be read or mapped
    ├── ConfigError               subject "configuration": a deployer's setting is malformed
    ├── UsageError                a command-line use argparse cannot see (no key, odd output name)
    └── ApiError                  exit 3: the Edge Impulse API or the network failed
        ├── AuthError             401/403: the key is missing or rejected
        └── NotFoundError         404: no such project or block
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "EXIT_API",
    "EXIT_INPUT",
    "EXIT_OK",
    "AnomalyLensError",
    "ApiError",
    "AuthError",
    "ConfigError",
    "FeatureFileError",
    "MetadataError",
    "NotFoundError",
    "UsageError",
]

EXIT_OK, EXIT_INPUT, EXIT_API = 0, 2, 3


class AnomalyLensError(Exception):
    """Base class of every error the core raises on purpose.

    `detail` is the message itself; `file` (optional) names the file it is about.
    """

    subject: ClassVar[str] = ""  # what the error is about, said first ("metadata", "features")
    exit_code: ClassVar[int] = EXIT_INPUT

    def __init__(self, detail: str, *, file: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.file = file

    def __str__(self) -> str:
        return ": ".join(part for part in (self.subject, self.file, self.detail) if part)

    def in_file(self, name: str) -> AnomalyLensError:
        """The same error, naming the file it is about (a file named already keeps its name)."""
        if self.file:
            return self
        return self._copy(file=name)

    def _copy(self, **changes: Any) -> AnomalyLensError:
        state = {**self.__dict__, **changes}
        clone = type(self).__new__(type(self))
        Exception.__init__(clone, state["detail"])
        clone.__dict__.update(state)
        return clone

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross process boundaries (Dask workers): keep every attribute, not only `args`.
        return (_rebuild, (type(self), self.__dict__))


def _rebuild(cls: type[AnomalyLensError], state: dict[str, Any]) -> AnomalyLensError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("detail", ""))
    error.__dict__.update(state)
    return error


class MetadataError(AnomalyLensError):
    """The anomaly metadata is missing a field, malformed, or inconsistent."""

    subject = "metadata"


class FeatureFileError(AnomalyLensError):
    """A feature file cannot be read or cannot provide the model's features."""

    subject = "features"


class ConfigError(AnomalyLensError):
    """A deployer's setting (environment variable or secret) is malformed."""

    subject = "configuration"


class UsageError(AnomalyLensError):
    """Bad command-line usage that argparse cannot see (unknown output format, no key)."""


class ApiError(AnomalyLensError):
    """The Edge Impulse API (or the network on the way to it) failed."""

    subject = "API"
    exit_code = EXIT_API

    def __init__(self, detail: str, status: int | None = None, *, file: str | None = None) -> None:
        super().__init__(detail, file=file)
        self.status = status


class AuthError(ApiError):
    """The API key was missing or rejected (401/403)."""


class NotFoundError(ApiError):
    """The project or learn block does not exist (404)."""
