"""The alert sensor: after each indicators update (each top-up), evaluate the alert rules.

It watches the crypto_indicators materializations and requests one run of crypto_alerts per new
materialization (the run key names that materialization's run and time, so a re-evaluated cursor
launches nothing twice). Evaluating in a run, not in the sensor, gives the notifier's retries and
errors a run log.
"""

import dagster as dg

from assets.alerts import ASSET_KEY as ALERTS_KEY
from assets.indicators import ASSET_KEY as INDICATORS_KEY

alerts_job = dg.define_asset_job("crypto_alerts_job", selection=[ALERTS_KEY])


@dg.asset_sensor(
    asset_key=INDICATORS_KEY,
    name="crypto_alerts_sensor",
    job=alerts_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Evaluates the alert rules after every crypto_indicators update.",
)
def crypto_alerts_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"alerts-after:{asset_event.run_id}:{asset_event.timestamp}")
