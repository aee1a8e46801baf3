"""Every way in: the `followup` command, the FastStream app, the worker pool, HTTP and the
demo. Thin: each translates its input into calls of the services."""
