"""`make alert-rules-import FILE=rules.yaml`: store the alert rules of a YAML file in the lake.

Each rule is checked as the dashboard's form checks it (assets/alert_rules.py); a name already stored
refuses the whole file, so importing twice never doubles a rule. The format is that of
sample/alert_rules.yaml.
"""

import argparse
import sys
from pathlib import Path

from assets.alert_rules import AlertRulesError, add_rules, load_rules_file
from resources.lake import lake_at_root
from resources.settings import catalog, lake_root, s3_endpoint_url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    path = parser.parse_args().file
    try:
        rules = load_rules_file(path)
        add_rules(lake_at_root(lake_root(), catalog(), s3_endpoint_url()), rules)
    except AlertRulesError as error:
        print(f"{path}: {error}", file=sys.stderr)
        return 1
    print(f"{path}: {len(rules)} alert rules stored: {', '.join(rule.name for rule in rules)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
