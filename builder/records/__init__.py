"""Stage 1, records: studies/*/study.yaml -> validated Study models and diagnostics.
"""
