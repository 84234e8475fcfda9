"""CoinGecko's public API v3: the top coins by market cap, and each top coin's metadata.

GET /api/v3/coins/markets?vs_currency=usd&order=market_cap_desc&per_page=P&page=K answers a page of
coins (at most 250) sorted by market cap, each with CoinGecko's `market_cap_rank`; the top N are the
first N coins of pages 1, 2, ... A page shorter than asked is the last one. Ranks can come out of
order within the list (a recorded answer has 24, 23, 22 in that order: the sort is by market cap, the
rank is computed separately), and a coin can move across a page boundary between two requests: it is
kept once, where it was first seen.

GET /api/v3/coins/{id}?localization=false&tickers=false&market_data=false&community_data=true
&developer_data=true&sparkline=false answers one coin's metadata: categories, genesis date, links, and
GitHub and community figures (all four flags default to true at CoinGecko, hence spelled out).

Keyless, the limit is per IP address and shared with everyone behind it: a few calls a minute (5 to
30 are reported, and a 429 carries x-ratelimit-reset rather than Retry-After). The client spaces its
calls `requests_per_minute` apart (5 by default), so a run stays under the limit instead of waiting
out 429s. With a key (TICKERLAKE_COINGECKO_API_KEY, read through dagster.EnvVar) the plan picks host
and header: `demo` sends x-cg-demo-api-key to api.coingecko.com, `pro` x-cg-pro-api-key to
pro-api.coingecko.com, where the limits are per key and far higher.
"""

import datetime as dt
import re
from collections.abc import Iterator
from typing import ClassVar, Literal

import httpx
import polars as pl
from pydantic import Field, PrivateAttr
from pyrate_limiter import Duration, Limiter, Rate

from resources.http import HttpSource, SourceError, join_url, names_its_errors, parse_json

DEFAULT_BASE_URL = "https://api.coingecko.com"
DEFAULT_PRO_URL = "https://pro-api.coingecko.com"
MARKETS_PATH = "/api/v3/coins/markets"
COIN_PATH = "/api/v3/coins/{coin_id}"
MAX_PER_PAGE = 250
KEY_HEADERS = {"demo": "x-cg-demo-api-key", "pro": "x-cg-pro-api-key"}
COIN_QUERY = {
    "localization": "false",
    "tickers": "false",
    "market_data": "false",
    "community_data": "true",
    "developer_data": "true",
    "sparkline": "false",
}

# CoinGecko's API ids: lower-case letters, digits and dashes (bitcoin, avalanche-2, usd-coin). An id
# is a URL path segment and a partition of the lake: anything else is refused before it is used.
COIN_ID_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9_.-]{0,98}[a-z0-9])?")
UTC = pl.Datetime("us", "UTC")

MARKETS_SCHEMA: dict[str, pl.DataType] = {
    "snapshot_date": pl.Date(),
    "position": pl.Int32(),
    "market_cap_rank": pl.Int32(),
    "coin_id": pl.String(),
    "symbol": pl.String(),
    "name": pl.String(),
    "price_usd": pl.Float64(),
    "market_cap_usd": pl.Float64(),
    "fully_diluted_valuation_usd": pl.Float64(),
    "total_volume_usd": pl.Float64(),
    "circulating_supply": pl.Float64(),
    "total_supply": pl.Float64(),
    "max_supply": pl.Float64(),
    "price_change_percentage_24h": pl.Float64(),
    "ath_usd": pl.Float64(),
    "ath_date": UTC,
    "last_updated": UTC,
}
MARKETS_MEANINGS = {
    "snapshot_date": "The UTC day the top N was asked for; one snapshot a day, so the table is the rank history.",
    "position": "1-based position in CoinGecko's answer (sorted by market cap): the top N are positions 1..N.",
    "market_cap_rank": "CoinGecko's market cap rank as answered (null for a coin it does not rank); it can "
    "differ from position, CoinGecko computes it apart from the sort.",
    "coin_id": "CoinGecko's API id (bitcoin, avalanche-2): the coin's key everywhere.",
    "symbol": "The coin's ticker symbol as CoinGecko writes it (lower case; not unique across coins).",
    "name": "The coin's name.",
    "price_usd": "Price in USD when CoinGecko last updated the coin.",
    "market_cap_usd": "Market capitalisation in USD.",
    "fully_diluted_valuation_usd": "Price times the maximum (or total) supply, in USD; null where unknown.",
    "total_volume_usd": "Traded volume over the last 24 hours, in USD, across the exchanges CoinGecko tracks.",
    "circulating_supply": "Coins in circulation.",
    "total_supply": "Coins in existence (null where unknown).",
    "max_supply": "The most coins there can ever be (null: no cap, or unknown).",
    "price_change_percentage_24h": "Price change over 24 hours, in percent.",
    "ath_usd": "All-time high price in USD.",
    "ath_date": "When the all-time high was reached (UTC).",
    "last_updated": "When CoinGecko last updated the coin's figures (UTC).",
}

COINS_SCHEMA: dict[str, pl.DataType] = {
    "coin_id": pl.String(),
    "fetched_date": pl.Date(),
    "symbol": pl.String(),
    "name": pl.String(),
    "categories": pl.List(pl.String()),
    "genesis_date": pl.Date(),
    "hashing_algorithm": pl.String(),
    "homepage": pl.String(),
    "github_repos": pl.List(pl.String()),
    "github_forks": pl.Int64(),
    "github_stars": pl.Int64(),
    "github_subscribers": pl.Int64(),
    "github_total_issues": pl.Int64(),
    "github_closed_issues": pl.Int64(),
    "github_pull_requests_merged": pl.Int64(),
    "github_pull_request_contributors": pl.Int64(),
    "github_commit_count_4_weeks": pl.Int64(),
    "twitter_followers": pl.Int64(),
    "telegram_channel_user_count": pl.Int64(),
    "watchlist_portfolio_users": pl.Int64(),
    "sentiment_votes_up_percentage": pl.Float64(),
    "last_updated": UTC,
}
COINS_MEANINGS = {
    "coin_id": "CoinGecko's API id.",
    "fetched_date": "The UTC day this metadata was fetched (a coin's is refreshed every few days, setting "
    "TICKERLAKE_COINGECKO_METADATA_DAYS).",
    "symbol": "Ticker symbol (lower case, as CoinGecko writes it).",
    "name": "The coin's name.",
    "categories": "CoinGecko's categories of the coin (Layer 1 (L1), Stablecoins, Meme, ...).",
    "genesis_date": "The coin's genesis date where CoinGecko knows it (null otherwise).",
    "hashing_algorithm": "Proof-of-work hashing algorithm (SHA-256, Scrypt), null for others.",
    "homepage": "The first of the coin's homepage links (CoinGecko pads the list with empty strings).",
    "github_repos": "The coin's GitHub repositories.",
    "github_forks": "Forks of its main repository (CoinGecko's developer data).",
    "github_stars": "Stars of its main repository.",
    "github_subscribers": "Watchers of its main repository.",
    "github_total_issues": "Issues opened, ever.",
    "github_closed_issues": "Issues closed, ever.",
    "github_pull_requests_merged": "Pull requests merged, ever.",
    "github_pull_request_contributors": "People whose pull requests were merged.",
    "github_commit_count_4_weeks": "Commits in the last four weeks.",
    "twitter_followers": "Followers of the coin's X (Twitter) account (community data; often null now).",
    "telegram_channel_user_count": "Members of its Telegram channel (null where none or unknown).",
    "watchlist_portfolio_users": "CoinGecko users holding the coin in a watchlist or portfolio.",
    "sentiment_votes_up_percentage": "Share of CoinGecko users' sentiment votes that are up, in percent.",
    "last_updated": "When CoinGecko last updated the coin (UTC).",
}
DEVELOPER_FIELDS = {
    "github_forks": "forks",
    "github_stars": "stars",
    "github_subscribers": "subscribers",
    "github_total_issues": "total_issues",
    "github_closed_issues": "closed_issues",
    "github_pull_requests_merged": "pull_requests_merged",
    "github_pull_request_contributors": "pull_request_contributors",
    "github_commit_count_4_weeks": "commit_count_4_weeks",
}
COMMUNITY_FIELDS = {
    "twitter_followers": "twitter_followers",
    "telegram_channel_user_count": "telegram_channel_user_count",
}
MARKET_NUMBERS = {
    "price_usd": "current_price",
    "market_cap_usd": "market_cap",
    "fully_diluted_valuation_usd": "fully_diluted_valuation",
    "total_volume_usd": "total_volume",
    "circulating_supply": "circulating_supply",
    "total_supply": "total_supply",
    "max_supply": "max_supply",
    "price_change_percentage_24h": "price_change_percentage_24h",
    "ath_usd": "ath",
}


class CoinGeckoFormatError(SourceError):
    """An answer that is not CoinGecko's documented format; names the call, and the coin or position."""


def validate_coin_id(coin_id: object, where: str) -> str:
    if not isinstance(coin_id, str) or not COIN_ID_PATTERN.fullmatch(coin_id) or ".." in coin_id:
        raise CoinGeckoFormatError(f"{where}: {str(coin_id)[:60]!r} is not a CoinGecko coin id")
    return coin_id


def _number(value: object, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CoinGeckoFormatError(f"{where}: {str(value)[:40]!r} is not a number")
    return float(value)


def _count(value: object, where: str) -> int | None:
    number = _number(value, where)
    if number is not None and (number != int(number) or number < 0):
        raise CoinGeckoFormatError(f"{where}: {value!r} is not a count")
    return None if number is None else int(number)


def _text(value: object, where: str, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise CoinGeckoFormatError(f"{where}: {str(value)[:40]!r} is not a text")
    return value


def _moment(value: object, where: str) -> dt.datetime | None:
    """CoinGecko's ISO 8601 times (2024-03-14T07:10:36.635Z) as UTC."""
    if value is None:
        return None
    text = _text(value, where)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise CoinGeckoFormatError(f"{where}: {text[:40]!r} is not an ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise CoinGeckoFormatError(f"{where}: {text[:40]!r} has no time zone")
    return moment.astimezone(dt.UTC)


def _markets_page(body: bytes, page: int) -> list[dict]:
    what = f"CoinGecko {MARKETS_PATH} page {page}"
    coins = parse_json(body, what, CoinGeckoFormatError)
    if not isinstance(coins, list) or any(not isinstance(coin, dict) for coin in coins):
        raise CoinGeckoFormatError(f"{what}: not an array of coin objects (starts {body[:60]!r})")
    return coins


@names_its_errors(CoinGeckoFormatError, lambda pages, top_n, day: f"CoinGecko {MARKETS_PATH}")
def parse_markets(pages: list[bytes], top_n: int, day: dt.date) -> pl.DataFrame:
    """The first `top_n` coins of the pages' answers, in MARKETS_SCHEMA, each coin once."""
    rows, seen = [], set()
    for page, body in enumerate(pages, start=1):
        for index, coin in enumerate(_markets_page(body, page), start=1):
            where = f"CoinGecko {MARKETS_PATH} page {page} coin {index}"
            coin_id = validate_coin_id(coin.get("id"), where)
            if coin_id in seen or len(rows) == top_n:
                continue
            seen.add(coin_id)
            rank = coin.get("market_cap_rank")
            rows.append(
                {
                    "snapshot_date": day,
                    "position": len(rows) + 1,
                    "market_cap_rank": None if rank is None else _count(rank, f"{where} ({coin_id}) market_cap_rank"),
                    "coin_id": coin_id,
                    "symbol": _text(coin.get("symbol"), f"{where} ({coin_id}) symbol"),
                    "name": _text(coin.get("name"), f"{where} ({coin_id}) name"),
                    **{
                        column: _number(coin.get(field), f"{where} ({coin_id}) {field}")
                        for column, field in MARKET_NUMBERS.items()
                    },
                    "ath_date": _moment(coin.get("ath_date"), f"{where} ({coin_id}) ath_date"),
                    "last_updated": _moment(coin.get("last_updated"), f"{where} ({coin_id}) last_updated"),
                }
            )
    return pl.DataFrame(rows, schema=MARKETS_SCHEMA)


def _genesis(value: object, where: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(_text(value, where))
    except ValueError as exc:
        raise CoinGeckoFormatError(f"{where}: {str(value)[:40]!r} is not a YYYY-MM-DD date") from exc


def _texts(value: object, where: str) -> list[str]:
    """A list of strings without CoinGecko's padding (empty strings, nulls)."""
    if value is None:
        return []
    if not isinstance(value, list) or any(item is not None and not isinstance(item, str) for item in value):
        raise CoinGeckoFormatError(f"{where}: not a list of texts")
    return [item for item in value if item and item.strip()]


def _section(coin: dict, name: str, where: str) -> dict:
    section = coin.get(name) or {}
    if not isinstance(section, dict):
        raise CoinGeckoFormatError(f"{where}: {name} is not an object")
    return section


@names_its_errors(CoinGeckoFormatError, lambda body, coin_id, day: f"CoinGecko /api/v3/coins/{coin_id}")
def parse_coin(body: bytes, coin_id: str, day: dt.date) -> pl.DataFrame:
    """One coin's metadata in COINS_SCHEMA; the answer must be the coin asked for."""
    where = f"CoinGecko /api/v3/coins/{coin_id}"
    coin = parse_json(body, where, CoinGeckoFormatError)
    if not isinstance(coin, dict):
        raise CoinGeckoFormatError(f"{where}: not a coin object (starts {body[:60]!r})")
    if coin.get("id") != coin_id:
        raise CoinGeckoFormatError(f"{where}: the answer is for {str(coin.get('id'))[:60]!r}, not {coin_id!r}")
    links, developer = _section(coin, "links", where), _section(coin, "developer_data", where)
    community, repos = _section(coin, "community_data", where), _section(links, "repos_url", f"{where} links")
    homepages = _texts(links.get("homepage"), f"{where} links.homepage")
    row = {
        "coin_id": coin_id,
        "fetched_date": day,
        "symbol": _text(coin.get("symbol"), f"{where} symbol"),
        "name": _text(coin.get("name"), f"{where} name"),
        "categories": _texts(coin.get("categories"), f"{where} categories"),
        "genesis_date": _genesis(coin.get("genesis_date"), f"{where} genesis_date"),
        "hashing_algorithm": _text(coin.get("hashing_algorithm"), f"{where} hashing_algorithm", required=False),
        "homepage": homepages[0] if homepages else None,
        "github_repos": _texts(repos.get("github"), f"{where} links.repos_url.github"),
        **{
            column: _count(developer.get(field), f"{where} developer_data.{field}")
            for column, field in DEVELOPER_FIELDS.items()
        },
        **{
            column: _count(community.get(field), f"{where} community_data.{field}")
            for column, field in COMMUNITY_FIELDS.items()
        },
        "watchlist_portfolio_users": _count(
            coin.get("watchlist_portfolio_users"), f"{where} watchlist_portfolio_users"
        ),
        "sentiment_votes_up_percentage": _number(
            coin.get("sentiment_votes_up_percentage"), f"{where} sentiment_votes_up_percentage"
        ),
        "last_updated": _moment(coin.get("last_updated"), f"{where} last_updated"),
    }
    return pl.DataFrame([row], schema=COINS_SCHEMA)


def ambiguous_symbols(markets: pl.DataFrame) -> dict[str, list[str]]:
    """Upper-cased symbols that several coins of the snapshot share, with those coins' ids: which of them
    a Binance pair of that base asset trades cannot be told from the symbol, so none is mapped."""
    shared = (
        markets.group_by(pl.col("symbol").str.to_uppercase().alias("base"))
        .agg(pl.col("coin_id").sort())
        .filter(pl.col("coin_id").list.len() > 1)
    )
    return dict(zip(shared["base"].to_list(), shared["coin_id"].to_list(), strict=True))


class CoinGeckoClient(HttpSource):
    """CoinGecko's API v3 (a host with api.coingecko.com's URL layout), its calls spaced to the plan's limit."""

    source_name: ClassVar[str] = "CoinGecko"
    base_url: str = Field(default=DEFAULT_BASE_URL, description="Host serving /api/v3/... keyless or with a demo key.")
    pro_url: str = Field(default=DEFAULT_PRO_URL, description="Host serving /api/v3/... with a pro key.")
    api_key: str | None = Field(default=None, description="A demo or pro API key (optional; from the environment).")
    plan: Literal["demo", "pro"] = Field(default="demo", description="Which plan the key is of: demo or pro.")
    top_n: int = Field(default=100, ge=1, description="Coins in the snapshot: the top N by market cap.")
    per_page: int = Field(default=MAX_PER_PAGE, ge=1, le=MAX_PER_PAGE, description="Coins per markets page.")
    requests_per_minute: float = Field(default=5, gt=0, description="Calls a minute (keyless: a few).")
    _limiter: Limiter | None = PrivateAttr(default=None)

    @property
    def host(self) -> str:
        return self.pro_url if self.api_key and self.plan == "pro" else self.base_url

    def open_client(self) -> httpx.Client:
        """The run's connection pool, with the key's header when there is a key (never in a URL or a log)."""
        return self.session({KEY_HEADERS[self.plan]: self.api_key} if self.api_key else None)

    def _call(self, client: httpx.Client, path: str, what: str, params: dict[str, str | int]) -> bytes:
        if self._limiter is None:
            self._limiter = Limiter(Rate(1, max(1, Duration.MINUTE * (1 / self.requests_per_minute))))
        self._limiter.try_acquire("coingecko")
        return self.fetch(client, join_url(self.host, path), what, params).content

    def top_coins(self, day: dt.date) -> pl.DataFrame:
        """The top `top_n` coins by market cap, paging until N coins or a short page."""
        with self.open_client() as client:
            pages = list(self._market_pages(client))
        return parse_markets(pages, self.top_n, day)

    def _market_pages(self, client: httpx.Client) -> Iterator[bytes]:
        per_page = min(self.per_page, self.top_n)
        page, collected = 1, 0
        while collected < self.top_n:
            params = {"vs_currency": "usd", "order": "market_cap_desc", "per_page": per_page, "page": page}
            body = self._call(client, MARKETS_PATH, f"CoinGecko {MARKETS_PATH} page {page}", params)
            answered = len(_markets_page(body, page))
            yield body
            if answered < per_page:
                return
            page, collected = page + 1, collected + answered

    def coins(self, coin_ids: list[str], day: dt.date) -> Iterator[tuple[str, pl.DataFrame | SourceError]]:
        """Each coin's metadata, or the error that kept it (the others are still fetched)."""
        with self.open_client() as client:
            for coin_id in coin_ids:
                path = COIN_PATH.format(coin_id=validate_coin_id(coin_id, "CoinGecko coin"))
                try:
                    body = self._call(client, path, f"CoinGecko {path}", COIN_QUERY)
                    yield coin_id, parse_coin(body, coin_id, day)
                except SourceError as error:
                    yield coin_id, error
