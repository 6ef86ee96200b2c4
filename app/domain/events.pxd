# The per-order events as compiled types with read-only fields (app/domain/frozen.py says why).
cdef class OrderUpdated:
    cdef readonly object source, order, ts_ns, change

cdef class OrderFilled:
    cdef readonly object source, order, fill
