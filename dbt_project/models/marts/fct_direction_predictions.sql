{#-
The direction model's predictions as served, with how long after the bar's close each was stored. A
view: the serving assets write every minute, and a view reads their rows without a rebuild (meta
tickerlake.automation none, assets/dbt.py).
-#}
{{ config(materialized='view') }}

select
    dataset,
    instrument,
    bar_time,
    bar_close_at,
    model_version,
    p_up2,
    p_up1,
    p_flat,
    p_down1,
    p_down2,
    predicted,
    predicted_at,
    epoch(predicted_at) - epoch(bar_close_at) as seconds_after_close
from {{ source('ml', 'direction_predictions') }}
