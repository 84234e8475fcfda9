"""`make dashboard`: the API (and its docs at /docs) on TICKERLAKE_DASHBOARD_HOST:PORT, loopback by default.

The dashboard reads through `make sql`'s read-only connection; the lake resource is given only to the
alerts page, whose rule edits are the one write."""

import ipaddress
import logging

import uvicorn

from resources import settings
from resources.lake import lake_at_root
from resources.sql import reader
from web.api import create_app


def main() -> None:
    token = settings.value("TICKERLAKE_API_TOKEN")
    lake = lake_at_root(settings.lake_root(), settings.catalog(), settings.s3_endpoint_url())
    app = create_app(reader, token, lake)
    host, port = settings.value("TICKERLAKE_DASHBOARD_HOST"), int(settings.value("TICKERLAKE_DASHBOARD_PORT"))
    if token is None and not _loopback(host):
        logging.getLogger("web").warning(
            f"The dashboard listens on {host} with no TICKERLAKE_API_TOKEN: anyone who reaches it can read the "
            "lake's answers and edit the alert rules. Set a token, or put it behind your own proxy."
        )
    uvicorn.run(app, host=host, port=port, log_level="info")


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


if __name__ == "__main__":
    main()
