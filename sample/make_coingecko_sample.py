"""Writes the made CoinGecko coin documents under sample/api.coingecko.com/api/v3/coins/<id>.

Run from the repository root: `.venv/bin/python sample/make_coingecko_sample.py`. Seeded, so the files
come out byte for byte the same; they are committed, this script documents how (sample/README.md says
why they are made: no recorded /coins/{id} answer is in ../shared/data and CoinGecko cannot be reached
from here).

One document for each coin of the recorded markets answer (api.coingecko.com/api/v3/coins/markets, real),
in the shape /api/v3/coins/{id}?localization=false&tickers=false&market_data=false&community_data=true
&developer_data=true&sparkline=false answers (CoinGecko's API reference and its recorded examples): the
top-level keys in CoinGecko's order, `links.homepage` padded with empty strings as CoinGecko pads it,
null where CoinGecko has nothing (genesis dates of most tokens, hashing algorithms of proof-of-stake
coins). Ids, symbols, names and ranks are the recorded answer's; genesis dates and hashing algorithms
of the proof-of-work coins are public facts; categories are a short plausible list; homepages are
`https://<id>.example` and the GitHub and community figures are random: made, not CoinGecko's numbers.
"""

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
COINS = HERE / "api.coingecko.com" / "api" / "v3" / "coins"
SEED = 20250304
LAST_UPDATED = "2025-03-04T14:45:50.155Z"  # the recorded markets answer's time
PROOF_OF_WORK = {  # coin id -> (genesis date, hashing algorithm)
    "bitcoin": ("2009-01-03", "SHA-256"),
    "dogecoin": ("2013-12-08", "Scrypt"),
    "litecoin": ("2011-10-07", "Scrypt"),
    "bitcoin-cash": ("2017-08-01", "SHA-256"),
}
STABLECOINS = {"tether", "usd-coin", "usds", "ethena-usde"}
WRAPPED = {"wrapped-bitcoin", "staked-ether", "wrapped-steth", "weth"}


def categories(coin_id: str) -> list[str]:
    if coin_id in STABLECOINS:
        return ["Stablecoins", "USD Stablecoin"]
    if coin_id in WRAPPED:
        return ["Wrapped-Tokens", "Liquid Staking"] if "st" in coin_id else ["Wrapped-Tokens"]
    if coin_id in {"dogecoin", "shiba-inu"}:
        return ["Meme", "Dog-Themed"]
    if coin_id in PROOF_OF_WORK:
        return ["Layer 1 (L1)", "Proof of Work (PoW)"]
    return ["Layer 1 (L1)", "Smart Contract Platform"]


def document(coin: dict, rng: random.Random) -> dict:
    """One coin's /coins/{id} answer, CoinGecko's keys in CoinGecko's order."""
    genesis, hashing = PROOF_OF_WORK.get(coin["id"], (None, None))
    stars = rng.randint(50, 80_000)
    return {
        "id": coin["id"],
        "symbol": coin["symbol"],
        "name": coin["name"],
        "web_slug": coin["id"],
        "asset_platform_id": None,
        "platforms": {"": ""},
        "detail_platforms": {"": {"decimal_place": None, "contract_address": ""}},
        "block_time_in_minutes": 10 if hashing == "SHA-256" else 0,
        "hashing_algorithm": hashing,
        "categories": categories(coin["id"]),
        "preview_listing": False,
        "public_notice": None,
        "additional_notices": [],
        "description": {"en": ""},
        "links": {
            "homepage": [f"https://{coin['id']}.example", "", ""],
            "whitepaper": "",
            "blockchain_site": ["", "", ""],
            "official_forum_url": ["", "", ""],
            "chat_url": ["", "", ""],
            "announcement_url": ["", ""],
            "twitter_screen_name": coin["id"],
            "facebook_username": "",
            "bitcointalk_thread_identifier": None,
            "telegram_channel_identifier": "",
            "subreddit_url": None,
            "repos_url": {"github": [f"https://github.com/{coin['id']}/{coin['id']}"], "bitbucket": []},
        },
        "image": {"thumb": coin["image"], "small": coin["image"], "large": coin["image"]},
        "country_origin": "",
        "genesis_date": genesis,
        "sentiment_votes_up_percentage": round(rng.uniform(55, 95), 2),
        "sentiment_votes_down_percentage": None,
        "watchlist_portfolio_users": rng.randint(10_000, 2_000_000),
        "market_cap_rank": coin["market_cap_rank"],
        "community_data": {
            "facebook_likes": None,
            "twitter_followers": rng.randint(10_000, 7_000_000),
            "reddit_average_posts_48h": 0.0,
            "reddit_average_comments_48h": 0.0,
            "reddit_subscribers": 0,
            "reddit_accounts_active_48h": 0,
            "telegram_channel_user_count": None,
        },
        "developer_data": {
            "forks": stars // 3,
            "stars": stars,
            "subscribers": stars // 20,
            "total_issues": (issues := rng.randint(10, 9_000)),
            "closed_issues": issues - rng.randint(0, issues // 5),
            "pull_requests_merged": rng.randint(10, 30_000),
            "pull_request_contributors": rng.randint(1, 1_000),
            "code_additions_deletions_4_weeks": {
                "additions": rng.randint(0, 20_000),
                "deletions": -rng.randint(0, 20_000),
            },
            "commit_count_4_weeks": rng.randint(0, 400),
            "last_4_weeks_commit_activity_series": [],
        },
        "status_updates": [],
        "last_updated": LAST_UPDATED,
    }


def main() -> None:
    rng = random.Random(SEED)
    for coin in json.loads((COINS / "markets").read_bytes()):
        (COINS / coin["id"]).write_text(json.dumps(document(coin, rng), indent=2) + "\n")


if __name__ == "__main__":
    main()
