"""Answers GET /api/v3/coins/markets over the bundled CoinGecko sample, paging as CoinGecko does.

The sample's list is CoinGecko's own answer of 2025-03-04 (api.coingecko.com/api/v3/coins/markets, as
recorded: 30 coins by market cap). A static server maps a path to a file but not a query to a page, so
both the demo's server (sample/demo.py) and the tests' mirror (tests/helpers.py) answer the real URL
with this: `per_page` coins (default 100, at most 250) of page `page` (from 1) of that list; a page past
the end is an empty array, as CoinGecko answers it. Only `vs_currency=usd` and the default order,
market_cap_desc, are what the recording holds; anything else is answered 400 as CoinGecko answers an
invalid parameter, never with the wrong data.

/api/v3/coins/{id} needs no code: the sample's metadata files lie at that path.
"""

import json
from pathlib import Path

SAMPLE_ROOT = Path(__file__).resolve().parent
COINGECKO_HOST = "/api.coingecko.com"
MARKETS_PATH = "/api/v3/coins/markets"
MARKETS_FILE = Path("api.coingecko.com") / "api" / "v3" / "coins" / "markets"


def _error(message: str) -> tuple[int, bytes]:
    return 400, json.dumps({"error": message}).encode()


def markets_answer(query: dict[str, str], root: Path = SAMPLE_ROOT) -> tuple[int, bytes]:
    """(HTTP status, JSON body) for one /api/v3/coins/markets request."""
    if query.get("vs_currency") != "usd":
        return _error("invalid vs_currency (the sample holds usd)")
    if query.get("order", "market_cap_desc") != "market_cap_desc":
        return _error("invalid order (the sample holds market_cap_desc)")
    try:
        per_page, page = int(query.get("per_page", 100)), int(query.get("page", 1))
    except ValueError:
        return _error("per_page and page must be integers")
    if not 1 <= per_page <= 250 or page < 1:
        return _error("per_page must be 1..250 and page at least 1")
    coins = json.loads((root / MARKETS_FILE).read_bytes())
    return 200, json.dumps(coins[(page - 1) * per_page : page * per_page], separators=(",", ":")).encode()
