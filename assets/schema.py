"""Column schemas of the raw datasets as Dagster metadata, so the UI shows each asset's columns, typed and
described (the meanings live beside each schema, in the source's client module)."""

from collections.abc import Mapping

import dagster as dg
import polars as pl


def column_schema(schema: dict[str, pl.DataType], meanings: Mapping[str, str]) -> dict[str, dg.TableSchema]:
    """The UI's column table; a column without a meaning is refused when the definitions load."""
    undescribed = [name for name in schema if not meanings.get(name)]
    if undescribed:
        raise ValueError(f"columns without a meaning: {undescribed}")
    columns = [dg.TableColumn(name, str(dtype), description=meanings[name]) for name, dtype in schema.items()]
    return {"dagster/column_schema": dg.TableSchema(columns=columns)}
