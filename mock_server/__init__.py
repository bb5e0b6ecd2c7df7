"""A local mock of Coder's notifications API: `create_app(MockConfig(...))` builds one."""

import warnings

# Starlette 1.x warns, when connexion imports its test client, that httpx is deprecated there;
# the mock never uses that client, so the warning is only noise on every start.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

from mock_server.app import create_app  # noqa: E402
from mock_server.config import MockConfig  # noqa: E402

__all__ = ["MockConfig", "create_app"]
