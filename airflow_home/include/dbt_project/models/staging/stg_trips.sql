-- One row per trip of raw_trips, typed and renamed. Trips picked up outside the month of their
-- file are dropped: a TLC month holds a few pickups from the month before.
-- The raw column names depend on the taxi type (yellow: tpep_*, green: lpep_*, fhv: its own set).
{% set taxi_type = var('taxi_type') %}
{% set prefix = 'lpep' if taxi_type == 'green' else 'tpep' %}
{% set pickup = 'pickup_datetime' if taxi_type == 'fhv' else prefix ~ '_pickup_datetime' %}

select
{% if taxi_type == 'fhv' %}
    cast(null as integer) as vendor_id,
    pickup_datetime as pickup_at,
    "dropOff_datetime" as dropoff_at,
    cast("PUlocationID" as integer) as pickup_zone_id,
    cast("DOlocationID" as integer) as dropoff_zone_id,
    cast(null as integer) as passenger_count,
    cast(null as double precision) as trip_distance,
    cast(null as integer) as rate_code_id,
    cast(null as integer) as payment_type,
    cast(null as double precision) as fare_amount,
    cast(null as double precision) as tip_amount,
    cast(null as double precision) as tolls_amount,
    cast(null as double precision) as total_amount,
{% else %}
    cast("VendorID" as integer) as vendor_id,
    {{ prefix }}_pickup_datetime as pickup_at,
    {{ prefix }}_dropoff_datetime as dropoff_at,
    cast("PULocationID" as integer) as pickup_zone_id,
    cast("DOLocationID" as integer) as dropoff_zone_id,
    cast(passenger_count as integer) as passenger_count,
    cast(trip_distance as double precision) as trip_distance,
    cast("RatecodeID" as integer) as rate_code_id,
    cast(payment_type as integer) as payment_type,
    cast(fare_amount as double precision) as fare_amount,
    cast(tip_amount as double precision) as tip_amount,
    cast(tolls_amount as double precision) as tolls_amount,
    cast(total_amount as double precision) as total_amount,
{% endif %}
    source_month
from {{ source('tlc', 'raw_trips') }}
where substr(cast({{ pickup }} as text), 1, 7) = source_month
