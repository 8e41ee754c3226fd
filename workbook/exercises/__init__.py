"""The checks behind each notebook's exercises: one module per notebook, one function per exercise.

A check cell calls one with the attendee's answer; the hidden solution calls it again with
``must_pass=True``. Each says in plain words what is still wrong.
"""
