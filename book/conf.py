"""Sphinx's settings for the site: make site stages the pages in build/site-src and builds."""

project = "asgi-workbook"
html_title = "asgi-workbook"
extensions = ["myst_nb"]
# The pages come with their outputs (the tests' executed copies): never run them here
nb_execution_mode = "off"
# Links to a heading (docs/chat.md#limits) are checked: a missing anchor is a warning
myst_heading_anchors = 3
# The clean notebooks offered for download are files, not pages
exclude_patterns = ["downloads/**"]
html_theme = "sphinx_book_theme"
html_theme_options = {"show_toc_level": 2}
html_show_sourcelink = False
# A cell that starts with %%writefile holds HTML or Python that the IPython lexer cannot
# colour; Sphinx shows it plain, which is right, and says so in a warning that is no fault
suppress_warnings = ["misc.highlighting_failure"]
