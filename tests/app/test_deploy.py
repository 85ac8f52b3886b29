"""Where a key may go on a shared deployment: the pure rule, then the app with a listener that
records what reaches it (a visitor's host, on 127.0.0.1)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ei_anomaly.constants import DEFAULT_BASE_URL
from ei_anomaly.deploy import DeploySettings, KeyPolicyError, resolve_endpoint
from ei_anomaly.review import SourceKind
from tests.support.constants import API_KEY, PROJECT_ID, ROOT
from tests.support.hostile_http import answer, hostile

SERVER_KEY = "ei_server_side_team_key_0001"
VISITOR_KEY = "ei_visitor_own_key_0002"
LOCAL = "http://127.0.0.1:8765/v1"


def settings(**kw) -> DeploySettings:
    return DeploySettings(server_key=SERVER_KEY, **kw)


def test_defaults_are_studio_and_no_custom_url():
    s = DeploySettings.from_sources({}, {})
    assert (s.api_base_url, s.allow_custom_base_url, s.allow_http, s.server_key) == (DEFAULT_BASE_URL, False, False, "")


def test_secrets_win_over_the_environment_and_flags_parse():
    s = DeploySettings.from_sources(
        {"EI_API_KEY": SERVER_KEY, "ANOMALY_LENS_ALLOW_HTTP": True},
        {"EI_API_KEY": "ei_env", "EI_API_BASE_URL": LOCAL + "/", "ANOMALY_LENS_ALLOW_CUSTOM_BASE_URL": "yes"},
    )
    assert (s.server_key, s.api_base_url, s.allow_custom_base_url, s.allow_http) == (SERVER_KEY, LOCAL, True, True)
    assert SERVER_KEY not in repr(s)
    with pytest.raises(KeyPolicyError, match="ANOMALY_LENS_ALLOW_HTTP must be true or false"):
        DeploySettings.from_sources({"ANOMALY_LENS_ALLOW_HTTP": "maybe"})
    with pytest.raises(KeyPolicyError, match="EI_API_BASE_URL"):
        DeploySettings.from_sources({"EI_API_BASE_URL": "studio.edgeimpulse.com"})


def test_the_server_key_goes_only_to_the_configured_api():
    assert resolve_endpoint(settings()).base_url == DEFAULT_BASE_URL
    assert resolve_endpoint(settings(api_base_url=LOCAL), "", LOCAL + "/").api_key == SERVER_KEY
    with pytest.raises(KeyPolicyError, match="not allowed here"):
        resolve_endpoint(settings(), "", "https://evil.example/v1")
    with pytest.raises(KeyPolicyError, match="enter your own API key"):
        resolve_endpoint(settings(allow_custom_base_url=True), "", "https://evil.example/v1")


def test_a_typed_url_needs_a_typed_key_and_https():
    custom = settings(allow_custom_base_url=True)
    got = resolve_endpoint(custom, VISITOR_KEY, "https://other.example/v1/")
    assert (got.base_url, got.api_key, got.key_is_visitors) == ("https://other.example/v1", VISITOR_KEY, True)
    with pytest.raises(KeyPolicyError, match="https"):
        resolve_endpoint(custom, VISITOR_KEY, "http://10.0.0.1/v1")
    assert resolve_endpoint(settings(allow_custom_base_url=True, allow_http=True), VISITOR_KEY, LOCAL).base_url == LOCAL
    for bad in ("file:///etc/passwd", "ftp://x/v1", "https:///v1", "https://u:p@other.example/v1"):
        with pytest.raises(KeyPolicyError):
            resolve_endpoint(custom, VISITOR_KEY, bad)


def test_no_key_at_all_says_where_to_put_one():
    with pytest.raises(KeyPolicyError, match="EI_API_KEY"):
        resolve_endpoint(DeploySettings())


# The app, as a visitor of a deployment that holds the team's key.


def visit(secrets: dict, base_url: str | None, key: str = "") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for name, value in secrets.items():
        at.secrets[name] = value
    at.run()
    at.sidebar.radio[0].set_value(SourceKind.PROJECT).run()
    at.text_input(key="ei_project_id").set_value(str(PROJECT_ID))
    if key:
        at.text_input(key="ei_api_key").set_value(key)
    if base_url is not None:
        fields = [t for t in at.text_input if t.key == "ei_base_url"]
        if fields:
            fields[0].set_value(base_url)
        else:  # no field: a crafted session value must not help either
            at.session_state["ei_base_url"] = base_url
    return at.run()


NO_BLOCKS = answer(200, b'{"success": true, "impulse": {"learnBlocks": []}}')


@pytest.fixture
def listener():
    """The visitor's host."""
    seen: list = []
    with hostile(NO_BLOCKS, seen) as url:
        yield url, seen


@pytest.fixture
def home():
    """The API the deployer configured (stands in for Studio: tests never reach the internet)."""
    seen: list = []
    with hostile(NO_BLOCKS, seen) as url:
        yield url, seen


def keys_received(seen: list) -> set:
    return {h.get("x-api-key") for h in seen}


@pytest.mark.parametrize("where", ["secrets", "env"])
def test_a_visitor_cannot_send_the_server_key_to_their_host(listener, home, monkeypatch, where):
    url, seen = listener
    home_url, home_seen = home
    settings = {"EI_API_KEY": SERVER_KEY, "EI_API_BASE_URL": home_url}
    if where == "env":
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
    at = visit(settings if where == "secrets" else {}, url)
    assert not at.exception
    assert SERVER_KEY not in keys_received(seen), "the server's key reached the visitor's host"
    assert seen == []
    assert keys_received(home_seen) == {SERVER_KEY}  # it went where the deployer said
    assert not [t for t in at.text_input if t.key == "ei_base_url"], "the base-URL field is shown by default"


def test_with_custom_urls_allowed_the_server_key_still_stays_home(listener, home):
    url, seen = listener
    allowed = {
        "EI_API_KEY": SERVER_KEY,
        "EI_API_BASE_URL": home[0],
        "ANOMALY_LENS_ALLOW_CUSTOM_BASE_URL": True,
        "ANOMALY_LENS_ALLOW_HTTP": True,
    }
    at = visit(allowed, url)
    assert seen == []
    assert any("enter your own API key" in e.value for e in at.error), [e.value for e in at.error]
    at = visit(allowed, url, key=VISITOR_KEY)  # the visitor's own key may go where the visitor says
    assert keys_received(seen) == {VISITOR_KEY}


def test_http_needs_the_deployers_permission(listener, home):
    url, seen = listener
    at = visit({"EI_API_BASE_URL": home[0], "ANOMALY_LENS_ALLOW_CUSTOM_BASE_URL": True}, url, key=VISITOR_KEY)
    assert seen == []
    assert any("https" in e.value for e in at.error), [e.value for e in at.error]


def test_the_deployer_can_point_the_server_key_at_another_api(served_api):
    at = visit({"EI_API_KEY": API_KEY, "EI_API_BASE_URL": served_api}, None)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="ei_block").value == 4
