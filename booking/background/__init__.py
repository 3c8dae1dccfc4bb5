"""Background work: the arq worker (``worker``), the jobs it runs (``jobs``), the queue it
reads (``queue``, the one module that knows arq's transport), the embedded default's
in-process loop (``inprocess``), what starts beside the API (``lifespan``), and the
start-up wiring every process shares (``wiring``)."""
