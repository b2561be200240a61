"""OME-NGFF: pure parsing of metadata documents (read), and writers for tests and examples (writer)."""
