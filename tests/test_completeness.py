"""What a replacement would lose (resources.completeness), on small hand-checked frames."""

import polars as pl

from resources.completeness import Completeness, losses

STORED = pl.DataFrame(
    {
        "day": [1, 1, 1, 2, 2],
        "symbol": ["A", "B", "C", "A", "B"],
        "volume": [10.0, 20.0, 30.0, 5.0, 5.0],
        "note": ["x", None, None, "y", None],
    }
)


def test_a_whole_table_rule_names_the_keys_that_would_go() -> None:
    rule = Completeness(keys=("symbol",))
    assert losses(STORED, STORED.filter(pl.col("symbol") != "C"), rule) == {None: ["rows 5 -> 4", "symbol gone: 1 (C)"]}
    assert losses(STORED, pl.concat([STORED, STORED.head(1).with_columns(symbol=pl.lit("D"))]), rule) == {}


def test_each_partition_is_judged_on_its_own_and_only_the_shrinking_ones_are_named() -> None:
    rule = Completeness(per="day", keys=("symbol",), measure="volume")
    new = STORED.with_columns(volume=pl.when(pl.col("day") == 2).then(1.0).otherwise(pl.col("volume")))
    assert losses(STORED, new, rule) == {2: ["volume 10 -> 2"]}
    assert losses(STORED, STORED.filter(pl.col("day") == 1), rule) == {
        2: ["rows 2 -> 0", "symbol gone: 2 (A, B)", "volume 10 -> 0"]
    }


def test_a_column_that_held_values_may_not_come_back_empty() -> None:
    emptied = STORED.with_columns(note=pl.lit(None, dtype=pl.String()))
    expected = {day: ["columns emptied: note"] for day in (1, 2)}
    assert losses(STORED, emptied, Completeness(per="day")) == expected


def test_the_tolerance_lets_a_small_loss_through() -> None:
    rule = Completeness(per="day", keys=("symbol",), tolerance=0.4)
    assert losses(STORED, STORED.filter(pl.col("symbol") != "C"), rule) == {}
    assert 1 in losses(STORED, STORED.filter(~pl.col("symbol").is_in(["B", "C"])), rule)


def test_nothing_stored_loses_nothing() -> None:
    assert losses(STORED.clear(), STORED.head(1), Completeness(keys=("symbol",))) == {}
