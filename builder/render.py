"""Thumbnail rendering as a microscopist expects it. Pure: numpy and Pillow only."""

from __future__ import annotations

# Colours for channels without display settings, in Fiji's composite order
# (red, green, blue, grey, cyan, magenta, yellow) so multichannel images look
# as they would on a microscopist's screen.
DEFAULT_CHANNEL_COLORS = ("FF0000", "00FF00", "0000FF", "FFFFFF", "00FFFF", "FF00FF", "FFFF00")
