{#- One row per (snapshot_date, symbol): a symbol in both directories is taken from nasdaqlisted.txt
    (first in name order); the rest of the order only makes ties impossible. -#}
select snapshot_date, symbol, security_name, exchange, is_etf, source_file
from {{ source('raw', 'symbol_directory') }}
qualify row_number() over (
    partition by snapshot_date, symbol
    order by source_file, exchange, security_name, is_etf
) = 1
