{#- One row per trading day whose threshold list is stored, empty lists included: the days on which a
    security's absence from the list is known, not just unseen. -#}
select
    trade_date,
    file_created_at,
    securities,
    _loaded_at
from {{ source('raw', 'regsho_threshold_files') }}
