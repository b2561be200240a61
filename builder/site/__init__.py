"""Stage 4, site: catalog -> pages, exports and search index -> `mkdocs build` -> site/.
"""
