{#- A table, rebuilt whole: the 1m indicators hold the last days only (TICKERLAKE_CRYPTO_1M_DAYS), so
    minutes leave as well as arrive, and an incremental table would keep the ones that left. -#}
{{ config(materialized='table') }}

{{ crypto_features('1m', '1 minute') }}
