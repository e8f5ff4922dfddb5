-- Trips with their pickup and drop-off zones. Incremental per month: a run replaces the rows of
-- its month (delete+insert on source_month), so re-running a month never doubles it; the first
-- run (or --full-refresh) builds every month that raw_trips holds.
{{ config(materialized='incremental', unique_key='source_month', incremental_strategy='delete+insert') }}

select
    t.source_month,
    t.vendor_id,
    t.pickup_at,
    t.dropoff_at,
    t.pickup_zone_id,
    pz.borough as pickup_borough,
    pz.zone as pickup_zone,
    t.dropoff_zone_id,
    dz.borough as dropoff_borough,
    dz.zone as dropoff_zone,
    t.passenger_count,
    t.trip_distance,
    t.rate_code_id,
    t.payment_type,
    t.fare_amount,
    t.tip_amount,
    t.tolls_amount,
    t.total_amount
from {{ ref('stg_trips') }} as t
left join {{ ref('dim_zones') }} as pz on pz.zone_id = t.pickup_zone_id
left join {{ ref('dim_zones') }} as dz on dz.zone_id = t.dropoff_zone_id
{% if is_incremental() %}
where t.source_month = substr('{{ var("month") }}', 1, 7)
{% endif %}
