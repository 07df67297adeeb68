"""Room for the records a store may hold (`serve.py --room N`, for scaling
runs): the task queue's capacity and retained finished tasks and the file
quota are raised to at least this, so that a store filled with N records is
measured on N records, not on evictions. 0 (the default) keeps the
reference server's bounds."""

_room = 0


def set_room(records: int) -> None:
    """Sets the room, before any store is built."""
    global _room
    _room = max(0, records)


def room() -> int:
    """The room set, or 0."""
    return _room
