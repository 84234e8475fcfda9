{#-
USD for one unit of each currency per ECB fixing day, crossed through the euro:
USD per unit = (USD per EUR) / (units per EUR). Minor units quoted by price providers
(GBp/GBX pence, ZAc cents, ILA agorot) are their major currency / 100.
-#}
with rates as (
    select * from {{ ref('stg_fx__ecb_rates') }}
),

usd as (
    select rate_date, units_per_eur as usd_per_eur from rates
    where currency = 'USD'
),

major as (
    select usd.rate_date, 'EUR' as currency, usd.usd_per_eur as usd_per_unit from usd
    union all
    select rates.rate_date, rates.currency, usd.usd_per_eur / rates.units_per_eur as usd_per_unit
    from rates
    inner join usd on rates.rate_date = usd.rate_date
),

minor as (
    select rate_date, m.minor as currency, usd_per_unit / 100 as usd_per_unit
    from major
    inner join (values ('GBP', 'GBp'), ('GBP', 'GBX'), ('ZAR', 'ZAc'), ('ILS', 'ILA')) as m (major, minor)
        on major.currency = m.major
)

select * from major
union all
select * from minor
