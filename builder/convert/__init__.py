"""From the files microscopists have to archive-ready OME-Zarr.

readers   open TIFF/OME-TIFF, MRC, CZI, PNG/JPEG through the field's libraries -> SourceImage (lazy dask arrays)
metadata  OME-XML and vendor metadata -> channels, pixel sizes, instrument, an imaging-method suggestion
writer    SourceImage -> OME-Zarr 0.5 (sharded) or 0.4 through ngff-zarr, written to a temporary name
plates    plate acquisitions (OME-XML Plate, folders of per-well TIFFs) -> one NGFF HCS plate
run       the conversion of each input file in an isolated, memory-limited worker (here or on a Dask cluster)
checks    the CNV and UPL check ids, titles and fixes; errors: the ConversionError that carries them
record_text  records read within the archive's YAML bounds, for new --from and upload
prefill   image facts -> the images, channels and acquisition of a new study record
upload    converted images -> a staging S3 bucket, resumable and checksum-verified
"""
