"""SEC company facts: the parser (classes, no dei, malformed), the client on data.sec.gov's URL layout,
the raw asset (404s, idempotent re-runs, refused shrinks, the due companies), and the as-of model."""

import datetime as dt
import json

import dagster as dg
import polars as pl
import pytest

from assets.sec_shares import ASK_AGAIN_DAYS, DATASET, REPORT_DUE_DAYS, REQUESTS, SWEEP_DAYS, due
from assets.sec_shares import sec_shares_outstanding as shares_asset
from assets.sectors import sec_company_tickers
from resources.lake import LakeResource
from resources.sec_shares import (
    FACTS,
    NO_FACTS,
    NOT_FOUND,
    PATH,
    REQUESTS_SCHEMA,
    SecSharesClient,
    parse_company_facts,
)
from resources.sectors import DEFAULT_DATA_URL, SecClient, SecFormatError
from tests.helpers import SAMPLE_ROOT, TEST_FIXTURES, Mirror, PlatformBuild, mirror_path, on_mirror, serve_all_sources
from tests.platform_build import SEC_USER_AGENT, rows

MURPHY = 717423
REAL = (TEST_FIXTURES / "real" / "sec" / "companyfacts_CIK0000717423.json").read_bytes()
ALPHABET, SPY, APPLE = 1652044, 884394, 320193
SAMPLE = SAMPLE_ROOT / "data.sec.gov" / "api" / "xbrl" / "companyfacts"


def path(cik: int) -> str:
    return mirror_path(DEFAULT_DATA_URL, PATH.format(cik=cik))


def document(cik: int, facts: list[dict] | None, **top: object) -> bytes:
    """A company facts document in SEC's shape; `facts` None: no dei section at all."""
    dei = {} if facts is None else {"dei": {"EntityCommonStockSharesOutstanding": {"units": {"shares": facts}}}}
    return json.dumps({"cik": cik, "entityName": "MADE CO", "facts": {"us-gaap": {}, **dei}, **top}).encode()


def fact(end: str, val: int, accn: str, filed: str, form: str = "10-Q") -> dict:
    return {"end": end, "val": val, "accn": accn, "fy": 2024, "fp": "Q1", "form": form, "filed": filed}


def test_several_classes_of_one_filing_are_numbered_by_size() -> None:
    body = document(
        5,
        [
            fact("2024-04-20", 870, "A1", "2024-05-01"),
            fact("2024-04-20", 5850, "A1", "2024-05-01"),
            fact("2024-04-20", 5500, "A1", "2024-05-01"),
            fact("2024-01-31", 6000, "A0", "2024-02-20", "10-K"),
        ],
    )
    parsed = parse_company_facts(body, 5)
    assert parsed.outcome == FACTS
    assert parsed.frame.select("accn", "share_class", "shares").rows() == [
        ("A0", 1, 6000),
        ("A1", 1, 5850),
        ("A1", 2, 5500),
        ("A1", 3, 870),
    ]
    assert parsed.frame.filter(pl.struct("accn", "end_date", "share_class").is_duplicated()).is_empty()
    listed = json.loads(body)["facts"]["dei"]["EntityCommonStockSharesOutstanding"]["units"]["shares"]
    shuffled = parse_company_facts(document(5, list(reversed(listed))), 5)
    assert shuffled.frame.equals(parsed.frame), "the numbering does not depend on SEC's order"


def test_a_document_without_dei_or_without_the_concept_has_no_facts() -> None:
    for body in (document(5, None), json.dumps({"cik": 5, "facts": {"dei": {"EntityPublicFloat": {}}}}).encode()):
        parsed = parse_company_facts(body, 5)
        assert (parsed.outcome, parsed.frame.height) == (NO_FACTS, 0)
        assert parsed.frame.schema == DATASET.schema


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html>Request Rate Threshold Exceeded</html>", "not JSON"),
        (b"[]", "expected a JSON object"),
        (document(6, []), "the document is of CIK 6"),
        (document(5, [{**fact("2024-04-20", 1, "A1", "2024-05-01"), "val": None}]), "facts without val"),
        (document(5, [fact("04/20/2024", 1, "A1", "2024-05-01")]), "not the source's format"),
        (document(5, [{**fact("2024-04-20", 1, "A1", "2024-05-01"), "val": "many"}]), "not the source's format"),
        (json.dumps({"cik": 5, "facts": {"dei": {"EntityCommonStockSharesOutstanding": {}}}}).encode(), "format"),
    ],
)
def test_a_malformed_document_is_an_error_naming_the_cik(body: bytes, problem: str) -> None:
    with pytest.raises(SecFormatError, match=rf"SEC company facts CIK0000000005: .*{problem}"):
        parse_company_facts(body, 5)


def test_the_client_asks_data_sec_gov_and_a_404_is_a_company_without_facts() -> None:
    with serve_all_sources() as mirror:
        mirror.put_path(path(MURPHY), REAL)
        client = on_mirror(SecSharesClient, mirror, user_agent=SEC_USER_AGENT, retry_attempts=1)
        answers = dict(client.company_facts([MURPHY, SPY, 7]))
    assert answers[MURPHY].frame.height == 53
    assert (answers[SPY].outcome, answers[7].outcome) == (NOT_FOUND, NOT_FOUND), "SPY has no document in the sample"
    assert mirror.requests[0] == "/data.sec.gov/api/xbrl/companyfacts/CIK0000717423.json"
    assert {h["User-Agent"] for h in mirror.headers} == {SEC_USER_AGENT}


def test_the_due_companies_are_the_new_then_those_whose_report_is_due() -> None:
    today = dt.date(2024, 7, 12)

    def ago(days: int) -> dt.date:
        return today - dt.timedelta(days=days)

    def asked(cik: int, days: int, outcome: str, newest_filed: dt.date | None) -> tuple:
        return (cik, dt.datetime.combine(ago(days), dt.time(), dt.UTC), outcome, 1, newest_filed, None)

    requests = pl.DataFrame(
        [
            asked(1, 3, FACTS, ago(10)),  # reported ten days ago
            asked(2, ASK_AGAIN_DAYS, FACTS, ago(80)),  # its report is due, last asked a week ago
            asked(3, 3, FACTS, ago(80)),  # due, but asked this week
            asked(4, SWEEP_DAYS, NOT_FOUND, None),
            asked(5, SWEEP_DAYS - 1, NO_FACTS, None),
            asked(6, SWEEP_DAYS, FACTS, ago(REPORT_DUE_DAYS - 5)),  # not reporting yet, but swept
        ],
        schema=REQUESTS_SCHEMA,
        orient="row",
    )
    assert due([6, 5, 4, 3, 2, 1, 9], requests, today)["cik"].to_list() == [9, 2, 4, 6], "never asked first"


def materialize(
    mirror: Mirror, lake: LakeResource, instance: dg.DagsterInstance, **config: object
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [sec_company_tickers, shares_asset],
        instance=instance,
        raise_on_error=False,
        resources={
            "lake": lake,
            "sectors": on_mirror(SecClient, mirror, user_agent=SEC_USER_AGENT, max_requests_per_second=1000),
            "sec_shares": on_mirror(SecSharesClient, mirror, user_agent=SEC_USER_AGENT, retry_attempts=1),
        },
        run_config={"ops": {"raw__sec_shares_outstanding": {"config": config}}},
    )


def failure(result: dg.ExecuteInProcessResult) -> str:
    return next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message


def metadata(result: dg.ExecuteInProcessResult) -> dict:
    return {k: v.value for k, v in result.get_asset_materialization_events()[-1].materialization.metadata.items()}


def test_the_sample_loads_rerunning_changes_nothing_and_a_shrink_is_refused(
    lake: LakeResource, instance: dg.DagsterInstance
) -> None:
    with serve_all_sources() as mirror:
        first = materialize(mirror, lake, instance)
        assert first.success
        stored = lake.read(DATASET, stamps=True)
        assert stored["cik"].n_unique() == len(list(SAMPLE.iterdir())) == 27
        found = metadata(first)
        assert (found["companies_asked"], found["with_facts"], found["not_found"]) == (28, 27, [SPY])
        assert stored.filter(pl.col("cik") == ALPHABET)["share_class"].max() == 3

        # Nothing is due a day later: a re-run asks nobody; asked by name, the same rows and stamps stay.
        assert metadata(materialize(mirror, lake, instance))["companies_asked"] == 0
        again = materialize(mirror, lake, instance, ciks=[ALPHABET, APPLE])
        assert again.success and lake.read(DATASET, stamps=True).equals(stored), "no duplicates, stamps kept"

        alphabet = json.loads((SAMPLE / f"CIK{ALPHABET:010d}.json").read_bytes())
        listed = alphabet["facts"]["dei"]["EntityCommonStockSharesOutstanding"]["units"]["shares"]
        del listed[-3:]
        mirror.put_path(path(ALPHABET), json.dumps(alphabet).encode())
        refused = materialize(mirror, lake, instance, ciks=[ALPHABET, APPLE])
        assert not refused.success
        assert "refused to replace sec_shares_outstanding cik=1652044 with less" in failure(refused)
        assert lake.read(DATASET, stamps=True).equals(stored), "a shorter document changes nothing stored"
        asked = lake.read(REQUESTS).filter(pl.col("cik") == ALPHABET)["asked_at"]
        allowed = materialize(mirror, lake, instance, ciks=[ALPHABET], allow_shrink=True)
        assert allowed.success
        assert (
            lake.read(DATASET).filter(pl.col("cik") == ALPHABET).height
            == stored.filter(pl.col("cik") == ALPHABET).height - 3
        )
        assert lake.read(REQUESTS).filter(pl.col("cik") == ALPHABET)["asked_at"][0] > asked[0], "recorded once stored"

        mirror.files.pop(path(APPLE))
        gone = materialize(mirror, lake, instance, ciks=[APPLE])
        assert gone.success and metadata(gone)["not_found"] == [APPLE]
        assert lake.read(DATASET).filter(pl.col("cik") == APPLE).height == 10, "a 404 keeps what is stored"

        mirror.put_path(path(APPLE), b"<html>Your Request Originates from an Undeclared Automated Tool</html>")
        malformed = materialize(mirror, lake, instance, ciks=[APPLE, ALPHABET])
        assert not malformed.success
        assert "SEC company facts CIK0000320193: fetch failed" in failure(malformed)
        assert "the stored partition is intact: 10 rows" in failure(malformed)


def test_a_count_that_breaks_a_rule_quarantines_its_company(lake: LakeResource, instance: dg.DagsterInstance) -> None:
    with serve_all_sources() as mirror:
        mirror.put_path(path(APPLE), document(APPLE, [fact("2024-06-20", 10, "A1", "2024-05-01")]))
        result = materialize(mirror, lake, instance, ciks=[APPLE, ALPHABET])
        assert not result.success and "CIK0000320193: quarantined, failed filed_not_before_end" in failure(result)
        assert lake.read(DATASET)["cik"].unique().to_list() == [ALPHABET], "the other company is stored"
        assert lake.read(REQUESTS)["cik"].to_list() == [ALPHABET], "the quarantined one is asked again next run"


def test_the_as_of_model_matches_an_independent_computation(platform_build: PlatformBuild) -> None:
    facts = pl.DataFrame(
        rows(platform_build, "SELECT cik, accn, end_date, shares, filed FROM raw.sec_shares_outstanding"),
        schema=["cik", "accn", "end_date", "shares", "filed"],
        orient="row",
    )
    tickers = pl.DataFrame(
        rows(platform_build, "SELECT replace(symbol, '-', '.'), cik FROM raw.sec_company_tickers"),
        schema=["symbol", "cik"],
        orient="row",
    )
    filings = facts.group_by("cik", "accn", "end_date", "filed").agg(pl.col("shares").sum())
    expected = []
    for (cik,), company in filings.group_by("cik"):
        dates = sorted(company["filed"].unique())
        for i, day in enumerate(dates):
            known = company.filter(pl.col("filed") <= day).sort("end_date", "filed", "accn", descending=True)
            after = dates[i + 1] if i + 1 < len(dates) else None
            expected.append((cik, day, after, known["shares"][0], known["end_date"][0]))
    expected = (
        pl.DataFrame(expected, schema=["cik", "valid_from", "valid_to", "shares", "as_of"], orient="row")
        .join(tickers, on="cik")
        .select("symbol", "valid_from", "valid_to", "shares", "as_of")
        .sort("symbol", "valid_from")
    )
    built = pl.DataFrame(
        rows(
            platform_build,
            "SELECT symbol, valid_from, valid_to, shares_outstanding, as_of_date "
            "FROM intermediate.int_shares_outstanding_known",
        ),
        schema=["symbol", "valid_from", "valid_to", "shares", "as_of"],
        orient="row",
    ).sort("symbol", "valid_from")
    assert built.height > 250
    assert built.equals(expected)
    gme = built.filter(pl.col("symbol") == "GME")
    assert gme.height == gme["valid_from"].n_unique() == 14, "the 10-K/A is a filing date of its own"
    amended = gme.filter(pl.col("as_of").is_duplicated())
    assert amended["shares"].n_unique() == 2, "the amendment counts from its filing, the original before it"
