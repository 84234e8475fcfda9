"""Shares outstanding from SEC's company facts, a company (CIK) at a time, in the daily reference run.

Why one unpartitioned asset that picks its companies, not partitions:
- The unit SEC publishes is a company's document, and a company is not a symbol: class shares share a
  CIK (GOOG, GOOGL), ETFs and OTC names have none. Symbol partitions would fetch one document twice and
  write its rows under two keys; CIK partitions would add a second 10,000-key dynamic set and a sensor
  to grow it, and a planned and a materialization event per company on every refresh.
- Which companies changed is not knowable from SEC without asking each one (a document has no cheap
  version stamp), but when a count can change is: cover-page counts come with periodic reports, each
  60 to 120 days after the previous one. So `raw.sec_shares_requests` records when each company was
  last asked and its newest filing, and a run asks, at most `companies_per_run` (2,000: about 3.5
  minutes at SEC's 10 a second), first the companies never asked, then those whose next report is
  due (weekly from 60 days after their newest filing, until it arrives), then a sweep of everything
  not asked for 91 days (amendments; companies without facts). At ~8,000 CIKs the first load takes
  four daily runs; after that a day costs a few hundred requests, not 8,000 (an hour at 10 a second,
  with documents of several megabytes each).
- Rows are replaced a company at a time (`cik` is the completeness partition), in one transaction per
  500 companies; a re-fetch that changed nothing keeps the rows' `_loaded_at`, so incremental models
  see nothing new. A company's document with fewer facts than stored is refused (SEC's document has
  no count to say it is complete), unless the run says allow_shrink. A 404 for a company with stored
  facts leaves them as they are (and says so in the metadata).
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import polars as pl
from pydantic import Field

from assets.checks import Ledger, PublishConfig, Rule, check_specs, fetch_failures, finish
from assets.freshness import updated_within
from assets.schema import column_schema
from assets.sectors import TICKERS_DATASET, TICKERS_KEY
from assets.sources import DAILY_TAG, Source
from resources.completeness import Completeness
from resources.http import SourceError
from resources.lake import Dataset, LakeResource
from resources.sec_shares import (
    FACTS,
    NO_FACTS,
    NOT_FOUND,
    REQUESTS_MEANINGS,
    REQUESTS_SCHEMA,
    SHARES_MEANINGS,
    SHARES_SCHEMA,
    CompanyFacts,
    SecSharesClient,
    what,
)

DATASET = Dataset(
    "sec_shares_outstanding",
    SHARES_SCHEMA,
    order=("cik", "filed", "end_date", "accn", "share_class"),
    key=("cik", "accn", "end_date", "share_class"),
    completeness=Completeness(per="cik", keys=("accn", "end_date", "share_class")),
)
REQUESTS = Dataset("sec_shares_requests", REQUESTS_SCHEMA, order=("cik",), key=("cik",))
ASSET_KEY = dg.AssetKey(["raw", DATASET.name])
RULES = (
    Rule("shares_positive", "Every count of shares outstanding is above 0.", pl.col("shares") > 0),
    Rule(
        "filed_not_before_end",
        "A count is filed on or after the date it is as of.",
        pl.col("filed") >= pl.col("end_date"),
    ),
)
# A 10-K comes 60-90 days after its year, the next 10-Q about 70 days after the 10-K; 10-Qs are ~91 days
# apart. From 60 days after a company's newest filing its next report may be out: asked weekly till then.
REPORT_DUE_DAYS, ASK_AGAIN_DAYS, SWEEP_DAYS = 60, 7, 91
COMMIT_COMPANIES = 500
NEVER = dt.date(1900, 1, 1)


class SharesConfig(PublishConfig):
    """Run config: allow_shrink, and the companies to ask whatever is due (a re-fetch after a restatement)."""

    ciks: list[int] = Field(default_factory=list, description="Ask exactly these CIKs (empty: the due ones).")


def due(ciks: list[int], requests: pl.DataFrame, today: dt.date) -> pl.DataFrame:
    """The companies of `ciks` to ask by `today`, most overdue first, with the day each was due."""
    asked_on = pl.col("asked_at").dt.date()
    report_due = pl.col("newest_filed") + pl.duration(days=REPORT_DUE_DAYS)
    again = asked_on + pl.duration(days=ASK_AGAIN_DAYS)
    sweep = asked_on + pl.duration(days=SWEEP_DAYS)
    next_ask = (
        pl.when(pl.col("asked_at").is_null())
        .then(pl.lit(NEVER))
        .when(pl.col("outcome") == FACTS)
        .then(pl.min_horizontal(sweep, pl.max_horizontal(report_due, again)))
        .otherwise(sweep)
    )
    return (
        pl.DataFrame({"cik": ciks}, schema={"cik": pl.Int64()})
        .join(requests.select("cik", "asked_at", "outcome", "newest_filed"), on="cik", how="left")
        .select("cik", next_ask.alias("due_on"))
        .filter(pl.col("due_on") <= today)
        .sort("due_on", "cik")
    )


def store(
    lake: LakeResource, answers: dict[int, CompanyFacts], ledger: Ledger, allow_shrink: bool, asked_at: dt.datetime
) -> list[str]:
    """Check these companies' facts, quarantine the companies that fail, replace the others' in one
    transaction, and record every company stored as asked. Returns what was not published and why."""
    if not answers:
        return []
    found = {cik: a for cik, a in answers.items() if a.outcome != NOT_FOUND}  # a 404 keeps what is stored
    frames = [a.frame for a in found.values()]
    good, failing = ledger.split(pl.concat(frames), by="cik") if frames else (pl.DataFrame(schema=SHARES_SCHEMA), {})
    problems = []
    for label, failed in failing.items():
        lake.quarantine(DATASET, answers[int(label)].frame, f"CIK{int(label):010d}", ", ".join(failed))
        problems.append(f"{what(int(label))}: quarantined, failed {', '.join(failed)}; its stored facts are unchanged")
    published = [cik for cik in found if str(cik) not in failing]
    replaced = lake.replace(DATASET, good, where={"cik": published}, keep_stamps=True, allow_shrink=allow_shrink)
    kept = set(replaced.kept)
    asked = [answer.request(asked_at) for cik, answer in answers.items() if cik not in kept and str(cik) not in failing]
    lake.replace(REQUESTS, pl.DataFrame(asked, schema=REQUESTS_SCHEMA), where={"cik": [r["cik"] for r in asked]})
    return problems + replaced.refused


@dg.asset(
    key=ASSET_KEY,
    deps=[TICKERS_KEY],
    group_name="sec_shares",
    kinds={"ducklake", "polars"},
    tags={DAILY_TAG: "reference"},
    check_specs=check_specs(ASSET_KEY, DATASET, RULES),
    description=(
        "SEC company facts: every company's shares outstanding (dei:EntityCommonStockSharesOutstanding) "
        "per filing, as of its cover-page date and known from its filing date; the companies whose next "
        "report is due are asked each day (raw.sec_shares_requests says when each was asked)."
    ),
    metadata={
        **column_schema(SHARES_SCHEMA, SHARES_MEANINGS),
        "requests_table": column_schema(REQUESTS_SCHEMA, REQUESTS_MEANINGS)["dagster/column_schema"],
    },
)
def sec_shares_outstanding(
    context: dg.AssetExecutionContext, config: SharesConfig, sec_shares: SecSharesClient, lake: LakeResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    config.announce(context.log)
    today = dt.datetime.now(dt.UTC).date()
    if config.ciks:
        chosen, waiting = sorted(set(config.ciks)), 0
    else:
        owed = due(lake.distinct(TICKERS_DATASET, "cik"), lake.read(REQUESTS), today)["cik"].to_list()
        chosen, waiting = owed[: sec_shares.companies_per_run], max(0, len(owed) - sec_shares.companies_per_run)
    context.log.info(f"SEC company facts: asking {len(chosen):,} companies; {waiting:,} more are due")
    ledger, problems, pending, unfetched = Ledger(DATASET, RULES), [], {}, {}
    outcomes: dict[str, list[int]] = {FACTS: [], NO_FACTS: [], NOT_FOUND: []}
    rows = 0
    asked_at = dt.datetime.now(dt.UTC)
    for cik, answer in sec_shares.company_facts(chosen):
        if isinstance(answer, SourceError):
            context.log.error(str(answer))
            unfetched[cik] = str(answer)
            continue
        outcomes[answer.outcome].append(cik)
        rows += answer.frame.height
        pending[cik] = answer
        if len(pending) == COMMIT_COMPANIES:
            problems += store(lake, pending, ledger, config.allow_shrink, asked_at)
            context.log.info(f"SEC company facts: {len(outcomes[FACTS]):,} companies with facts stored so far")
            pending = {}
    problems += store(lake, pending, ledger, config.allow_shrink, asked_at)
    failures = fetch_failures(lake, DATASET, "cik", unfetched, what)
    yield from finish(
        ledger,
        [*failures, *problems],
        {
            "dagster/row_count": rows,
            "companies_asked": len(chosen),
            "with_facts": len(outcomes[FACTS]),
            "without_facts": dg.MetadataValue.json(outcomes[NO_FACTS][:200]),
            "not_found": dg.MetadataValue.json(outcomes[NOT_FOUND][:200]),
            "due_not_asked": waiting,
        },
        headline=f"{len(failures) + len(problems)} of {len(chosen)} companies not stored",
    )


SOURCE = Source(
    client=SecSharesClient,
    assets=[sec_shares_outstanding],
    datasets=[DATASET, REQUESTS],
    freshness=updated_within([ASSET_KEY], dt.timedelta(days=4)),
)
