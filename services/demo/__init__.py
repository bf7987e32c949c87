"""``drx demo``: scenarios (format and generator), the runner, and the summary it prints.

See docs/demo.md.
"""
