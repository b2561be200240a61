"""Pure data models: no files, no network, no site. Safe to import anywhere."""

from builder.model.image import ChannelFacts, ImageFacts, PlateFacts
from builder.model.study import SCHEMA_VERSION, Dataset, ImageRef, Study

__all__ = ["SCHEMA_VERSION", "ChannelFacts", "Dataset", "ImageFacts", "ImageRef", "PlateFacts", "Study"]
