"""The file store of the `file_operations` category, the twin of the
reference's `shared::files`: uploads streamed to a staging file with their
sha256 computed on the way, fsync'd and renamed into place with their
metadata; deterministic fixtures; byte ranges; and real processing
(analysis, gzip, image resize and conversion).

Blocking file-system code with no web framework in it: async servers run
the slow parts (staging writes, commits, reads, processing) off their event
loop. Modules:

- `names`: ids, client file names, categories, content types, dispositions
- `meta`: what the store knows about a file (`FileMeta`, `NewFile`)
- `fixtures`: the seeded files' content rules
- `range`: single byte ranges of the `Range` header
- `stats`: the counters of `/stats`
- `quota`: staging reservations and pins (`Reserved`, `Pinned`)
- `upload`: a staging file hashed while written (`Upload` → `Staged`)
- `index`: files by id, by age and by category and age, derivations, pins
- `commit`: the commit protocol (synced metadata, renames, batch intents)
- `store`: directory layout, opening, listing, quota and eviction, delete
- `process`: `Operation.parse`, analyze, gzip, image resize/convert
- `framing`: the bounds of part header blocks and of the preamble
- `form`: the streaming multipart reader that feeds uploads
- `receive`: one upload request's receive loop, for any framework
- `jobs`: the processing gate and the records of automatic analyses
- `download`: what downloads and streams send, read from disk in blocks
- `views`: the JSON shapes of the category's answers
- `service`: the whole category (storage directory, store, jobs, limits)
"""

#: Size of every read and write buffer of the store (staging, hashing,
#: processing), as in the reference.
IO_BUFFER = 64 * 1024
