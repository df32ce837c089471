"""`peak-trade incident AUDIT.jsonl --output DIR` (in progress)."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("audit", metavar="AUDIT.jsonl")
    parser.add_argument("--output", metavar="DIR", required=True)
