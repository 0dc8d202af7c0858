"""HTTP serving on waitress: its limits, admission control, the drain on stop and the access log.

This package is the only code of prediris that touches waitress's non-public names. They were
read from waitress 3.0.2, `setup.cfg` pins waitress to that minor version (`~=3.0.2`), and
`contract.py` holds them as data: tests/api/test_waitress_contract.py fails with one line naming
any of them that an upgrade removes or reshapes. What each is used for:

- waitress.task.ThreadedTaskDispatcher (admission.py: shed before a request is queued):
  add_task, set_thread_count, shutdown, __init__; its state lock, queue, queue_cv, threads,
  stop_count; and what its workers and shutdown call on a queued item: service(), cancel().
- waitress.task.Task / waitress.task.WSGITask (connections.py: shed replies, drain's close):
  __init__, execute, build_response_header, set_close_on_finish, write; the task's channel,
  request, status, response_headers, complete, content_length, close_on_finish.
- waitress.task.ErrorTask (connections.py: waitress's own refusals as problem+json): execute.
- waitress.channel.HTTPChannel (connections.py: per-connection behaviour): the class attributes
  task_class, error_task_class, parser_class; __init__, handle_close, handle_read, readable,
  writable, service, cancel; the connection's server, adj, socket, connected, requests, request,
  requests_lock (held while add_task runs), total_outbufs_len, will_close, close_when_flushed.
- waitress.parser.HTTPRequestParser (connections.py: time a request from its first byte):
  __init__, received; the request's path, command, error.
- waitress.server.TcpWSGIServer (connections.py: accept in batches, stalled-request deadline):
  the class attribute channel_class; __init__, handle_accept, maintenance; the listener's _map,
  adj, trigger, accepting, active_channels, effective_host, effective_port.
- waitress.trigger.trigger (admission.py: wake the event loop): pull_trigger.
- waitress.wasyncore (server.py: run the event loop ourselves, to drain): loop, close_all,
  and waitress.wasyncore.dispatcher's close.

Everything else is waitress's public API (`waitress.adjustments.Adjustments` options, see
server.py) or plain WSGI: fastpath.py (the `/predict` fast path) and accesslog.py touch no waitress
name. A public option or a WSGI middleware replaces an internal wherever it gives the same
guarantee; none does yet for these: a middleware sees a request only after it waited for a worker
thread (too late to shed it), cannot tell the last pipelined request of a connection (to drain
without losing one), and cannot time a request from its first byte (slow clients).
"""
