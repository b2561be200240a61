"""Stage 3, catalog: studies + image facts + today -> one Catalog document (with past versions).
"""
