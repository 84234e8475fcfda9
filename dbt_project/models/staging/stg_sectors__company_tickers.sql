{#- SEC writes share classes with a dash (BRK-B); the exchanges and FINRA with a dot (BRK.B). -#}
select
    replace(symbol, '-', '.') as symbol,
    cik,
    company_name,
    sec_exchange
from {{ source('raw', 'sec_company_tickers') }}
qualify row_number() over (partition by replace(symbol, '-', '.') order by cik) = 1
