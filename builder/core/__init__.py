"""Shared foundations every stage uses: settings, the archive's layout, errors, checks, git.

Core imports no stage.
"""
