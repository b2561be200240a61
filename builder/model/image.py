"""What the builder learns about one OME-Zarr image. Pure: no I/O.

Produced by the data stage (builder.data.inspection), cached as JSON, consumed by the
catalog, the pages, the review report and the lock/fixity checks.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Facts(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AxisFacts(_Facts):
    name: str  # t, c, z, y, x
    type: str | None = None  # time, channel, space
    unit: str | None = None  # micrometer, second ...
    scale: float | None = None  # physical size of one pixel at level 0


class ChannelFacts(_Facts):
    label: str
    color: str | None = None  # "RRGGBB"
    window: tuple[float, float] | None = None  # start, end of the display window
    active: bool = True


class LevelFacts(_Facts):
    path: str
    shape: list[int]
    chunks: list[int]


class PlateFacts(_Facts):
    rows: int
    columns: int
    wells: int
    fields_per_well: int
    acquisitions: int = 0
    row_names: list[str] = Field(default_factory=list)
    column_names: list[str] = Field(default_factory=list)


class ImageFacts(_Facts):
    """Facts about one image (or plate) as found in storage."""

    url: str  # as resolved (absolute s3://, https:// or local path)
    kind: Literal["image", "plate", "labels"]
    ngff_version: str  # "0.4" or "0.5"
    name: str | None = None  # multiscales name
    axes: list[AxisFacts] = Field(default_factory=list)
    shape: list[int] = Field(default_factory=list)  # level 0, in axes order
    dtype: str | None = None
    chunks: list[int] = Field(default_factory=list)  # level 0
    levels: list[LevelFacts] = Field(default_factory=list)
    channels: list[ChannelFacts] = Field(default_factory=list)
    default_z: int | None = None
    default_t: int | None = None
    labels: list[str] = Field(default_factory=list)  # names of label images
    plate: PlateFacts | None = None
    size_bytes: int | None = None  # stored bytes, where cheap to learn
    fingerprint: str = ""  # sha256 over the NGFF and array metadata documents
    thumbnails: dict[str, str] = Field(default_factory=dict)  # size name -> file name in the thumbnail cache
    thumbnail_alt: str | None = None

    @property
    def pixel_sizes(self) -> dict[str, tuple[float, str | None]]:
        return {a.name: (a.scale, a.unit) for a in self.axes if a.type == "space" and a.scale is not None}
