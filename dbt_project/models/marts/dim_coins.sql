{#-
Every coin that has been in CoinGecko's top N, in it now or not: its rank history summed up, its
metadata as last fetched, and the Binance pairs of its symbol in the newest pair universe.

A symbol that several coins of the newest snapshot share maps to no pair (raw/crypto_universe refuses
it too): symbol_shared says so.
-#}
with snapshots as (
    select * from {{ ref('stg_coingecko__markets') }}
),

newest_snapshot as (
    select max(snapshot_date) as snapshot_date from snapshots
),

ranks as (
    select
        coin_id,
        min(snapshot_date) as first_in_top_n,
        max(snapshot_date) as last_in_top_n,
        count(*) as days_in_top_n,
        min(market_cap_rank) as best_market_cap_rank
    from snapshots
    group by coin_id
),

latest as (
    select coin_id, symbol, base_asset, name, market_cap_rank, market_cap_usd, snapshot_date
    from snapshots
    qualify row_number() over (partition by coin_id order by snapshot_date desc) = 1
),

shared as (
    select snapshots.base_asset
    from snapshots
    inner join newest_snapshot using (snapshot_date)
    group by snapshots.base_asset
    having count(*) > 1
),

newest_pairs as (
    select universe.base_asset, list(universe.pair order by universe.pair) as binance_pairs
    from {{ ref('stg_binance__universe') }} as universe
    where universe.snapshot_date = (select max(snapshot_date) from {{ ref('stg_binance__universe') }})
    group by universe.base_asset
)

select
    latest.coin_id,
    latest.symbol,
    latest.name,
    latest.snapshot_date = newest_snapshot.snapshot_date as in_top_n,
    latest.market_cap_rank,
    latest.market_cap_usd,
    latest.snapshot_date as rank_date,
    ranks.best_market_cap_rank,
    ranks.first_in_top_n,
    ranks.last_in_top_n,
    ranks.days_in_top_n,
    shared.base_asset is not null as symbol_shared,
    case when shared.base_asset is null then newest_pairs.binance_pairs end as binance_pairs,
    coins.categories,
    coins.genesis_date,
    coins.hashing_algorithm,
    coins.homepage,
    coins.github_repos,
    coins.github_stars,
    coins.github_forks,
    coins.github_commit_count_4_weeks,
    coins.github_pull_request_contributors,
    coins.watchlist_portfolio_users,
    coins.fetched_date as metadata_date
from latest
cross join newest_snapshot
inner join ranks using (coin_id)
left join shared on latest.base_asset = shared.base_asset and latest.snapshot_date = newest_snapshot.snapshot_date
left join newest_pairs on latest.base_asset = newest_pairs.base_asset
left join {{ ref('stg_coingecko__coins') }} as coins using (coin_id)
