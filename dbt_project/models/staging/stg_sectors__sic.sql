select cik, sic, sic_description
from {{ source('raw', 'sec_company_sic') }}
