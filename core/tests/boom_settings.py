"""The project's settings with core.tests.boom_urls, for tests that run a server process."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "core.tests.boom_urls"
