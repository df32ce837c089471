"""The static HTML run report: one self-contained file an operator opens offline.

`page.render_report` is pure: a `RunReport` (the audit facts of every scenario of a run, each
scenario's verdict and the relative links to its files) in, the HTML text out, the same bytes for
the same inputs. `collect.collect_report` is the shell that reads the audit folder, the evidence
folder and the scenario files; `cli/report_cmds.py` writes the file. Nothing in the page loads
anything: inline CSS, inline SVG, no script, and a Content-Security-Policy that forbids every
fetch, so the file opened from a laptop's disk makes no request.
"""
