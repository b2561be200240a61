"""bioarchive: builds an open archive of biological image studies.

Pipeline, one module per stage, data flowing one way:

    records (builder.records.load)  YAML study records -> validated Study models
    data    (builder.data.inspection)     OME-Zarr in object storage -> ImageFacts + thumbnails
    catalog (builder.catalog.assembly)  studies + image facts -> one Catalog document
    pages   (builder.site.pages)    catalog -> Markdown/HTML pages from templates/
    site    (builder.site.mkdocs_site)     pages -> `mkdocs build` -> site/ (replaced atomically)

Pure models (builder.model, builder.data.ngff) import no I/O.
"""

__version__ = "0.1.0"
