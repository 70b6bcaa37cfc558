"""The client's HUGMOOD_CLIENT_* variables live beside the server's settings without clashing."""

from __future__ import annotations

import pytest

from hugmood.config import ConfigError, Settings


def test_client_variables_do_not_stop_the_server_from_reading_its_settings() -> None:
    environ = {
        "HUGMOOD_CLIENT_VAULT": "/tmp/vault.sqlite",
        "HUGMOOD_CLIENT_SERVER": "http://127.0.0.1:8000",
        "HUGMOOD_PORT": "8123",
    }
    assert Settings.from_env(environ).port == 8123
    with pytest.raises(ConfigError, match="HUGMOOD_CLIENTVAULT"):
        Settings.from_env({"HUGMOOD_CLIENTVAULT": "typo"})
