{#- Typed, one row per symbol and fact: SEC's company facts are per company (CIK), so the symbol comes
    from SEC's ticker table, and a company with two tickers (class shares: GOOG, GOOGL) has each fact
    under both. The ticker table is today's, not as of the filing: a renamed ticker carries its
    company's whole history. Facts of a company without a current ticker keep a null symbol. The raw
    key (cik, accn, end_date, share_class) is unique by the raw asset's blocking check. -#}
select
    tickers.symbol,
    facts.cik,
    facts.accn,
    facts.end_date,
    facts.share_class,
    facts.shares,
    facts.filed,
    facts.form,
    facts.fy,
    facts.fp,
    facts.frame,
    facts._loaded_at
from {{ source('raw', 'sec_shares_outstanding') }} as facts
left join {{ ref('stg_sectors__company_tickers') }} as tickers on facts.cik = tickers.cik
