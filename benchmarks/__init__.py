"""peak_trade benchmarks (issue 5): `python -m benchmarks [--quick] [--json]`.

Not collected by pytest (testpaths is tests/). Each case runs in a fresh subprocess
(`python -m benchmarks.child MODULE:FUNCTION JSON`), several times; figures carry the median and
the min-max of the repeats. docs/benchmarks.md holds the results and how to read them.
"""
