"""Beside the stages: submission rules, image locks, review reports and fixity checks.

Curation never imports the site.
"""
