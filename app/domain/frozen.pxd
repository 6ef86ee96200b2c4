# The base of the read-only event classes, compiled so that they may derive from it (frozen.py).
cdef class Frozen:
    pass
