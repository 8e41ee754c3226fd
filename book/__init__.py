"""The workbook as a website: the notebooks with their outputs, and the docs (make site)."""
