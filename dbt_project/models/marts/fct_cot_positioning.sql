{#- The COT positioning of the markets that stand for an instrument class (seed cftc_cot_contracts):
    what the feature marts join, as of a bar's time, on available_from <= the bar's time. -#}
select
    contracts.instrument_class,
    contracts.contract,
    positioning.cftc_contract_market_code,
    positioning.report_date,
    positioning.available_from,
    positioning.open_interest,
    positioning.dealer_net,
    positioning.dealer_net_share,
    positioning.dealer_net_share_change,
    positioning.asset_manager_net,
    positioning.asset_manager_net_share,
    positioning.asset_manager_net_share_change,
    positioning.leveraged_funds_net,
    positioning.leveraged_funds_net_share,
    positioning.leveraged_funds_net_share_change,
    positioning.other_reportable_net,
    positioning.other_reportable_net_share,
    positioning.other_reportable_net_share_change,
    positioning.noncommercial_net,
    positioning.noncommercial_net_share,
    positioning.noncommercial_net_share_change,
    positioning.commercial_net,
    positioning.commercial_net_share,
    positioning.commercial_net_share_change,
    positioning.nonreportable_net,
    positioning.nonreportable_net_share,
    positioning.nonreportable_net_share_change
from {{ ref('cftc_cot_contracts') }} as contracts
inner join {{ ref('int_cftc__positioning') }} as positioning
    on contracts.cftc_contract_market_code = positioning.cftc_contract_market_code
