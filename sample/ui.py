"""`make demo-ui`: the Dagster UI on the world `make demo` built, with its sample served while the UI runs.

The sources point at the sample's server (TICKERLAKE_SOURCE_MIRROR), the partitions span the sample's
days, and the automations that fetch stay stopped (TICKERLAKE_FETCH_AUTOMATION): materializing sample
days from the UI works, and nothing reaches the internet. Ctrl-C stops the UI and the server.
"""

import argparse
import subprocess
import sys
from pathlib import Path

from demo import ROOT, demo_environment, serve_sample


def main() -> int:
    parser = argparse.ArgumentParser(description="The Dagster UI on the demo's world.")
    parser.add_argument("host", nargs="?", default="127.0.0.1")
    parser.add_argument("port", nargs="?", default="3000")
    args = parser.parse_args()
    host, port = args.host, args.port
    root_url = serve_sample()
    env = demo_environment(root_url)
    print(f"Serving the bundled sample at {root_url}; the UI opens at http://{host}:{port}", flush=True)
    dagster = Path(sys.executable).parent / "dagster"
    command = [str(dagster), "dev", "-w", "workspace.yaml", "--host", host, "--port", port]
    try:
        return subprocess.run(command, cwd=ROOT, env=env).returncode
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
