"""Child entry point: `python -m benchmarks.child MODULE:FUNCTION '{"arg": ...}'`.

Imports MODULE, calls FUNCTION(**args) and prints its result (a JSON object) as the last line of
stdout. Every measured case runs this way, in a fresh interpreter.
"""

from __future__ import annotations

import importlib
import json
import sys


def main(argv: list[str]) -> int:
    target, raw = argv
    module_name, function_name = target.split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    result = function(**json.loads(raw))
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
