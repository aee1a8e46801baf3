"""SQLite for `serve`: its one connection on the event loop's thread, and the write-ahead
log's checkpoints."""
