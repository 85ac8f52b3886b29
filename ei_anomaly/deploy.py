"""Deployer settings and the rule for where an API key may be sent.

A shared dashboard often holds the team's key (`st.secrets` or the environment). That key must
only ever go to the API the deployer configured: a visitor may point the app at another base
URL only when the deployer allows it, only with a key the visitor typed, and only over https
unless plain http is allowed too (local use). Pure Python, so the rule is testable without
Streamlit; `components/source.py` feeds it `st.secrets` and `os.environ`.

Settings (secrets first, then environment variables of the same name):
- `EI_API_KEY`: the server-side key (optional).
- `EI_API_BASE_URL`: the API the app talks to (default Studio's).
- `ANOMALY_LENS_ALLOW_CUSTOM_BASE_URL`: show the "API base URL" field to visitors (default off).
- `ANOMALY_LENS_ALLOW_HTTP`: accept http:// base URLs typed by visitors (default off).
- `ANOMALY_LENS_ALLOW_WRITE`: who may write to Edge Impulse (Save a threshold): `off`, `visitor`
  (only with a key the visitor typed; the default) or `server` (the server's key too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from .constants import DEFAULT_BASE_URL
from .errors import AnomalyLensError
from .redact import url_without_credentials

__all__ = ["DeploySettings", "Endpoint", "KeyPolicyError", "WritePolicy", "resolve_endpoint", "write_refusal"]

API_KEY, API_BASE_URL = "EI_API_KEY", "EI_API_BASE_URL"
ALLOW_CUSTOM_BASE_URL, ALLOW_HTTP = "ANOMALY_LENS_ALLOW_CUSTOM_BASE_URL", "ANOMALY_LENS_ALLOW_HTTP"
ALLOW_WRITE = "ANOMALY_LENS_ALLOW_WRITE"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


class KeyPolicyError(AnomalyLensError):
    """The key/base URL combination is not allowed on this deployment, or the URL is malformed."""


def _first(name: str, sources: tuple[Mapping[str, Any], ...]) -> Any:
    for source in sources:
        value = source.get(name)
        if value is not None and str(value).strip() != "":
            return value
    return None


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise KeyPolicyError(f"deployment setting {name} must be true or false, not {text[:20]!r}")


class WritePolicy(str, Enum):
    """Who may write to Edge Impulse through this deployment (`ANOMALY_LENS_ALLOW_WRITE`)."""

    OFF = "off"  # nobody: the dashboard only reads
    VISITOR = "visitor"  # only with a key the visitor typed (their own authority); the default
    SERVER = "server"  # the server's key too: every visitor may change the team's blocks

    @classmethod
    def parse(cls, value: Any) -> WritePolicy:
        text = str(value if value is not None else "").strip().lower()
        if not text:
            return cls.VISITOR
        for policy in cls:
            if text == policy.value:
                return policy
        raise KeyPolicyError(f"deployment setting {ALLOW_WRITE} must be off, visitor or server, not {text[:20]!r}")


def write_refusal(policy: WritePolicy, key_is_visitors: bool) -> str | None:
    """Why a write is not allowed here with this key, in words for the visitor; None when it is."""
    if policy is WritePolicy.OFF:
        return "Saving to Edge Impulse is turned off on this deployment (its administrator decides)."
    if policy is WritePolicy.VISITOR and not key_is_visitors:
        return (
            "This deployment saves only with your own API key: the key configured on the server may read, "
            "not write. Enter your own admin API key in the sidebar to save."
        )
    return None


def _normal(url: str) -> str:
    return url.strip().rstrip("/")


@dataclass(frozen=True)
class DeploySettings:
    """What the deployer decided; the defaults are the safe choice for a shared server."""

    api_base_url: str = field(default=DEFAULT_BASE_URL, repr=False)  # may hold credentials: `shown_base_url`
    allow_custom_base_url: bool = False
    allow_http: bool = False
    server_key: str = field(default="", repr=False)
    allow_write: WritePolicy = WritePolicy.VISITOR

    @property
    def shown_base_url(self) -> str:
        """The configured base URL as messages may show it: without credentials."""
        return url_without_credentials(self.api_base_url)

    @classmethod
    def from_sources(cls, *sources: Mapping[str, Any]) -> DeploySettings:
        """Read the settings from mappings in priority order (e.g. `st.secrets`, then `os.environ`)."""
        base = str(_first(API_BASE_URL, sources) or DEFAULT_BASE_URL)
        parts = urlsplit(base.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise KeyPolicyError(f"deployment setting {API_BASE_URL} must look like {DEFAULT_BASE_URL}")
        return cls(
            api_base_url=_normal(base),
            allow_custom_base_url=_flag(ALLOW_CUSTOM_BASE_URL, _first(ALLOW_CUSTOM_BASE_URL, sources)),
            allow_http=_flag(ALLOW_HTTP, _first(ALLOW_HTTP, sources)),
            server_key=str(_first(API_KEY, sources) or "").strip(),
            allow_write=WritePolicy.parse(_first(ALLOW_WRITE, sources)),
        )


@dataclass(frozen=True)
class Endpoint:
    """Where to send requests and with which key. The key stays out of repr."""

    base_url: str
    api_key: str = field(repr=False)
    key_is_visitors: bool


def resolve_endpoint(settings: DeploySettings, typed_key: str = "", typed_base_url: str = "") -> Endpoint:
    """The base URL and key for one visitor's request, or KeyPolicyError saying what to change.

    - A typed key wins over the server's key (it is the visitor's own).
    - The configured base URL gets either key. Any other URL needs the deployer's permission,
      the visitor's own key, and https (or the deployer's permission for http).
    """
    typed_key, typed_base_url = typed_key.strip(), _normal(typed_base_url)
    key = typed_key or settings.server_key
    if not key:
        raise KeyPolicyError(f"Enter an API key in the sidebar (Studio: Dashboard > Keys), or set {API_KEY}.")
    if not typed_base_url or typed_base_url in (settings.api_base_url, settings.shown_base_url):
        return Endpoint(settings.api_base_url, key, bool(typed_key))
    if not settings.allow_custom_base_url:
        raise KeyPolicyError(
            f"This deployment only talks to `{settings.shown_base_url}`; another API base URL is not allowed here."
        )
    if not typed_key:
        raise KeyPolicyError(
            f"The key configured on this server is only sent to `{settings.shown_base_url}`. "
            "To use another API base URL, enter your own API key."
        )
    parts = urlsplit(typed_base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise KeyPolicyError(f"The API base URL must look like `{DEFAULT_BASE_URL}`.")
    if parts.scheme == "http" and not settings.allow_http:
        raise KeyPolicyError(
            "The API base URL must use https:// (this deployment does not allow sending a key over plain http)."
        )
    if parts.username or parts.password:
        raise KeyPolicyError("The API base URL must not contain a user name or password.")
    return Endpoint(typed_base_url, key, True)
