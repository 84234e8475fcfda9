{#- SEC writes share classes with a dash (BRK-B); the exchanges and FINRA with a dot (BRK.B). When
    both spellings or two companies claim one symbol, the lowest CIK wins, then the dotted spelling,
    then names in order: a total order, so the winner never depends on file order. -#}
select
    replace(symbol, '-', '.') as symbol,
    cik,
    company_name,
    sec_exchange
from {{ source('raw', 'sec_company_tickers') }}
qualify row_number() over (
    partition by replace(symbol, '-', '.')
    order by cik asc, symbol = replace(symbol, '-', '.') desc, symbol asc, company_name asc, sec_exchange asc
) = 1
