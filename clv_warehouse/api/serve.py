"""``clv serve``: run the HTTP API over the published copy with uvicorn.

Keys come from CLV_API_KEYS (comma-separated, each at least MIN_KEY_LENGTH characters);
without one the command refuses to start unless ``--no-auth`` is given. It binds
127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

KEYS_VARIABLE = "CLV_API_KEYS"
MIN_KEY_LENGTH = 16
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


class ServeError(ValueError):
    """``clv serve`` cannot start; the message says what to set."""


def api_keys_from(environment: Mapping[str, str], no_auth: bool) -> list[str] | None:
    """The keys the server accepts, None when auth is explicitly off."""
    keys = [key.strip() for key in environment.get(KEYS_VARIABLE, "").split(",") if key.strip()]
    if no_auth:
        return None
    if not keys:
        raise ServeError(
            f"no API key: set {KEYS_VARIABLE} (comma-separated keys of at least"
            f" {MIN_KEY_LENGTH} characters, e.g. from `openssl rand -hex 24`), or pass"
            " --no-auth to serve without keys"
        )
    short = [index for index, key in enumerate(keys, start=1) if len(key) < MIN_KEY_LENGTH]
    if short:
        raise ServeError(
            f"key {short[0]} of {KEYS_VARIABLE} is shorter than {MIN_KEY_LENGTH}"
            " characters: use longer random keys (e.g. `openssl rand -hex 24`)"
        )
    return keys


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("clv serve: %(levelname)s %(message)s"))
    logger = logging.getLogger("clv.serve")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def serve(
    published: Path,
    host: str,
    port: int,
    no_auth: bool,
    access_log: bool = False,
    environment: Mapping[str, str] | None = None,
) -> int:
    import uvicorn

    from clv_warehouse.api.app import create_app

    keys = api_keys_from(os.environ if environment is None else environment, no_auth)
    _configure_logging()
    app = create_app(published, keys)
    state = "published copy" if published.exists() else "published copy (not there yet)"
    auth = "no API key needed (--no-auth)" if keys is None else f"{len(keys)} API key(s)"
    print(
        f"Serving the {state} {published} on http://{host}:{port} ({auth});"
        f" OpenAPI at /openapi.json, docs at /docs. Ctrl+C stops it.",
        flush=True,
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=access_log,
        log_level="warning",
        lifespan="off",
        server_header=False,
        proxy_headers=False,
    )
    uvicorn.Server(config).run()
    app.state.copy.close()
    return 0
