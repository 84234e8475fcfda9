{#- Net positions per trader group and market, as a share of open interest, with the change from the
    market's previous report. Legacy and TFF rows of one market and date are one row (a commodity
    market has legacy groups only); each share is of its own report's open interest. -#}
with legacy as (
    select
        cftc_contract_market_code,
        report_date,
        available_from,
        open_interest,
        noncommercial_long - noncommercial_short as noncommercial_net,
        commercial_long - commercial_short as commercial_net,
        nonreportable_long - nonreportable_short as nonreportable_net,
        _loaded_at
    from {{ ref('stg_cftc__cot_legacy') }}
),

tff as (
    select
        cftc_contract_market_code,
        report_date,
        available_from,
        open_interest,
        dealer_long - dealer_short as dealer_net,
        asset_manager_long - asset_manager_short as asset_manager_net,
        leveraged_funds_long - leveraged_funds_short as leveraged_funds_net,
        other_reportable_long - other_reportable_short as other_reportable_net,
        _loaded_at
    from {{ ref('stg_cftc__cot_tff') }}
),

joined as (
    select
        coalesce(legacy.cftc_contract_market_code, tff.cftc_contract_market_code) as cftc_contract_market_code,
        coalesce(legacy.report_date, tff.report_date) as report_date,
        -- both reports are released together; the later of the two, should they ever differ
        greatest(
            coalesce(legacy.available_from, tff.available_from),
            coalesce(tff.available_from, legacy.available_from)
        ) as available_from,
        coalesce(legacy.open_interest, tff.open_interest) as open_interest,
        tff.dealer_net,
        tff.dealer_net / nullif(tff.open_interest, 0) as dealer_net_share,
        tff.asset_manager_net,
        tff.asset_manager_net / nullif(tff.open_interest, 0) as asset_manager_net_share,
        tff.leveraged_funds_net,
        tff.leveraged_funds_net / nullif(tff.open_interest, 0) as leveraged_funds_net_share,
        tff.other_reportable_net,
        tff.other_reportable_net / nullif(tff.open_interest, 0) as other_reportable_net_share,
        legacy.noncommercial_net,
        legacy.noncommercial_net / nullif(legacy.open_interest, 0) as noncommercial_net_share,
        legacy.commercial_net,
        legacy.commercial_net / nullif(legacy.open_interest, 0) as commercial_net_share,
        legacy.nonreportable_net,
        legacy.nonreportable_net / nullif(legacy.open_interest, 0) as nonreportable_net_share,
        greatest(
            coalesce(legacy._loaded_at, tff._loaded_at), coalesce(tff._loaded_at, legacy._loaded_at)
        ) as _loaded_at
    from legacy
    full outer join tff
        on
            legacy.cftc_contract_market_code = tff.cftc_contract_market_code
            and legacy.report_date = tff.report_date
)

select
    * exclude (_loaded_at),
    dealer_net_share - lag(dealer_net_share) over previous_report as dealer_net_share_change,
    asset_manager_net_share - lag(asset_manager_net_share) over previous_report as asset_manager_net_share_change,
    leveraged_funds_net_share
    - lag(leveraged_funds_net_share) over previous_report as leveraged_funds_net_share_change,
    other_reportable_net_share
    - lag(other_reportable_net_share) over previous_report as other_reportable_net_share_change,
    noncommercial_net_share - lag(noncommercial_net_share) over previous_report as noncommercial_net_share_change,
    commercial_net_share - lag(commercial_net_share) over previous_report as commercial_net_share_change,
    nonreportable_net_share - lag(nonreportable_net_share) over previous_report as nonreportable_net_share_change,
    _loaded_at
from joined
window previous_report as (partition by cftc_contract_market_code order by report_date)
