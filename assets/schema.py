"""Column schemas of the raw datasets as Dagster metadata, so the UI shows each asset's columns."""

import dagster as dg
import polars as pl


def column_schema(schema: dict[str, pl.DataType]) -> dict[str, dg.TableSchema]:
    return {"dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(n, str(t)) for n, t in schema.items()])}
