# The per-order event as a compiled type with read-only fields (app/domain/frozen.py says why).
from app.domain.frozen cimport Frozen

cdef class OrderEvent(Frozen):
    cdef readonly object client_order_id, status, ts_ns, filled_lots, reason, exchange_order_id
