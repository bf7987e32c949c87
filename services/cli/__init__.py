"""The ``drx`` command line: an application on top of the workers, never imported by them."""
