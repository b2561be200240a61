"""bioarchive: builds an open archive of biological image studies.

Pipeline, one module per stage, data flowing one way:

    records (builder.records)  YAML study records -> validated Study models
    data    (builder.data)     OME-Zarr in object storage -> ImageFacts + thumbnails
    catalog (builder.catalog)  studies + image facts -> one Catalog document
    pages   (builder.pages)    catalog -> Markdown/HTML pages from templates/
    site    (builder.site)     pages -> `mkdocs build` -> site/ (replaced atomically)

Pure models (builder.model, builder.ngff) import no I/O.
"""

__version__ = "0.1.0"
