-- depends_on: {{ ref('int_fred__series_known') }}
{{ config(materialized='incremental', unique_key=['pair', 'open_time'], incremental_strategy='delete+insert',
          on_schema_change='append_new_columns') }}

{{ crypto_features('1d', '1 day') }}
