"""Calibration: the instruments checked against the published grokking results.

`checks` (named claims with measured value, expected range, verdict, source), `phases`
(phase boundaries detected from the instruments), `signature` (trajectory speed/turning on
long-plateau runs), `evidence` (what a check reads about a variant), `runner` (train, analyze,
check) and `report` (docs/calibration.md). Kept import-light: analyzers import `phases`.
"""
