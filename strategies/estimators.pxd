# The intensity fit's sums in C doubles (strategies/estimators.py: _pairwise, _term); the
# rest of the module keeps Python semantics. setup.py compiles without FMA contraction, so
# every product and sum rounds as numpy's element-wise operations do.
import cython

cdef int _W, _WX, _WY, _WDX2, _WDXDY

@cython.locals(weight=double, level=double, value=double, dx=double)
cdef inline double _term(int kind, Py_ssize_t i, list x, list w, list y, double x_mean, double y_mean) except? -1.0

@cython.locals(i=Py_ssize_t, stop=Py_ssize_t, half=Py_ssize_t, total=double,
               r0=double, r1=double, r2=double, r3=double, r4=double, r5=double, r6=double, r7=double)
cdef double _pairwise(int kind, Py_ssize_t start, Py_ssize_t n, list x, list w, list y, double x_mean,
                      double y_mean) except? -1.0

cpdef double pairwise_sum(list values) except? -1.0

@cython.locals(held=Py_ssize_t)
cdef _count_in(list distances, object scale, dict memo, object kept, dict counts, Py_ssize_t size)

@cython.locals(levels=list, w=list, y=list, n=Py_ssize_t, i=Py_ssize_t, running=Py_ssize_t, total=double,
               x_mean=double, y_mean=double, spread=double, slope=double, kappa=double)
cdef _weighted_fit(dict counts, double seconds)
