"""`make dashboard`: the API (and its docs at /docs) on TICKERLAKE_DASHBOARD_HOST:PORT, loopback by default.

The dashboard reads through `make sql`'s read-only connection; the lake resource is given only to the
alerts page, whose rule edits are the one write."""

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
    uvicorn.run(app, host=host, port=port, log_level="info")


if __name__ == "__main__":
    main()
