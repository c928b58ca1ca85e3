"""The numerical engine: signals, file I/O, alignment, projectors and reconstruction.

Imports no widget library.
"""
