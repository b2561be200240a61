"""Writers and fixtures used by tests, benchmarks and scripts (never by the stages).
"""
