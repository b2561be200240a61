"""From the files microscopists have to archive-ready OME-Zarr.

readers   open TIFF/OME-TIFF, MRC, CZI, PNG/JPEG through the field's libraries -> SourceImage (lazy dask arrays)
metadata  OME-XML and vendor metadata -> channels, pixel sizes, instrument, an imaging-method suggestion
writer    SourceImage -> OME-Zarr 0.5 (sharded) or 0.4 through ngff-zarr, written to a temporary name
run       the conversion of one input file in an isolated, memory-limited worker
prefill   image facts -> the images, channels and acquisition of a new study record
upload    converted images -> a staging S3 bucket, resumable and checksum-verified
"""
