{#- Typed by the raw asset; one row per (contract market, report date): a year's partition is replaced
    whole and its blocking check keeps the key unique, and the newest write wins should two years
    ever hold the same row. -#}
select
    cftc_contract_market_code,
    report_date,
    available_from,
    market_and_exchange_names,
    cftc_market_code,
    cftc_commodity_code,
    contract_units,
    open_interest,
    noncommercial_long,
    noncommercial_short,
    noncommercial_spreading,
    commercial_long,
    commercial_short,
    total_reportable_long,
    total_reportable_short,
    nonreportable_long,
    nonreportable_short,
    _loaded_at
from {{ source('raw', 'cftc_cot_legacy') }}
qualify row_number() over (
    partition by cftc_contract_market_code, report_date order by _loaded_at desc
) = 1
