select snapshot_date, symbol, security_name, exchange, is_etf, source_file
from {{ source('raw', 'symbol_directory') }}
qualify row_number() over (partition by snapshot_date, symbol order by source_file) = 1
