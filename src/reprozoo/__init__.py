"""reprozoo: a zoo of classic models, reproducible from raw data to tracked artifacts.

Importing the package does no work: no I/O, no heavy imports. See README.md.
"""

__version__ = "0.1.0"
