"""Software-defined assets, one module per source, plus the dbt models."""

import warnings

import dagster as dg

# Every ranged raw asset runs its partitions in one run (BackfillPolicy.single_run): the design rests on
# it (docs/benchmarks.md), so Dagster's note that the parameter is still beta is known and not repeated
# at every import of the definitions.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)
