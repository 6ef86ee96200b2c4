# The per-order event as a compiled type with read-only fields (app/domain/frozen.py says why).
cdef class OrderEvent:
    cdef readonly object client_order_id, status, ts_ns, filled_lots, reason, exchange_order_id
