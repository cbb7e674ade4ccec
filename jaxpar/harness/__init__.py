"""Shared plumbing of the suite: data, block layout, checks, timing, records.

Nothing here is counted as part of any implementation's code size.
"""
