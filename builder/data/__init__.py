"""Stage 2, data: OME-Zarr in object storage -> image facts, thumbnails and diagnostics.
"""
