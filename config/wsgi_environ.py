"""The request's environ without the server process's environment.

granian builds each request's environ as `dict(os.environ) | the request`, so
every variable of the process (SECRET_KEY, DATABASE_URL with its password, the
JWT and cloud keys) would reach request.META, where an error report or any dump
of it shows them. What the request brings (CGI keys, its HTTP_* headers) stays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

# What granian sets for every request, over any process variable of the same name.
ALWAYS_FROM_THE_SERVER = frozenset(
    {
        "GATEWAY_INTERFACE",
        "SCRIPT_NAME",
        "SERVER_SOFTWARE",
        "SERVER_PROTOCOL",
        "SERVER_NAME",
        "SERVER_PORT",
        "REMOTE_ADDR",
        "REQUEST_METHOD",
        "PATH_INFO",
        "QUERY_STRING",
    }
)


class WithoutProcessEnvironment:
    """WSGI: drops each process variable from the environ before the application
    sees it. A key the request may bring too (an HTTP_* header, CONTENT_TYPE or
    CONTENT_LENGTH) is dropped only when it holds the process's value."""

    def __init__(
        self, application: Callable, process_environment: Mapping[str, str]
    ) -> None:
        self.application = application
        variables = {
            key: value
            for key, value in process_environment.items()
            if key not in ALWAYS_FROM_THE_SERVER
        }
        self.shared_with_requests = tuple(
            (key, value) for key, value in variables.items() if _request_may_set(key)
        )
        self.process_only = tuple(key for key in variables if not _request_may_set(key))

    def __call__(self, environ: dict, start_response: Callable):
        drop = environ.pop
        for key in self.process_only:
            drop(key, None)
        for key, value in self.shared_with_requests:
            if environ.get(key) == value:
                del environ[key]
        return self.application(environ, start_response)


def _request_may_set(key: str) -> bool:
    return key.startswith("HTTP_") or key in {"CONTENT_TYPE", "CONTENT_LENGTH"}
