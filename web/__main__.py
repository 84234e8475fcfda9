"""`make dashboard`: the API (and its docs at /docs) on TICKERLAKE_DASHBOARD_HOST:PORT, loopback by default."""

import uvicorn

from resources import settings
from resources.sql import reader
from web.api import create_app


def main() -> None:
    token = settings.value("TICKERLAKE_API_TOKEN")
    app = create_app(reader, token)
    host, port = settings.value("TICKERLAKE_DASHBOARD_HOST"), int(settings.value("TICKERLAKE_DASHBOARD_PORT"))
    uvicorn.run(app, host=host, port=port, log_level="info")


if __name__ == "__main__":
    main()
