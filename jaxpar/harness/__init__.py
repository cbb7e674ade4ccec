"""The harness: what runs, times and reports configurations, above the API.

run.py's plumbing (pinning, timing, records), the launcher, the sweep, the
results files, statistics, hardware limits, code size and the report. No
implementation imports it; nothing here is counted as code size.
"""
