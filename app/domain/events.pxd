# The per-order events as compiled types with read-only fields (app/domain/frozen.py says why).
from app.domain.frozen cimport Frozen

cdef class OrderUpdated(Frozen):
    cdef readonly object source, order, ts_ns, change

cdef class OrderFilled(Frozen):
    cdef readonly object source, order, fill
