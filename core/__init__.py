"""The utilities every package of svg-sigma shares, below all of them (``core`` imports nothing
of the project): errors and exit codes (:mod:`.errors`), the device rule (:mod:`.devices`),
atomic file writes (:mod:`.atomic_files`), the check before writing over a user's files
(:mod:`.owned_files`), the registries of named entries (:mod:`.registry`) and config settings
declared once with their range and doc (:mod:`.settings`)."""
