"""The one exception class the project's packages share: a mistake in what the user gave.

``models`` is the bottom of the import graph (it imports nothing of the project), so
``data_loaders``, ``eval_fvd`` and ``svg`` all raise this one class from here.
"""


class UserError(ValueError):
    """Bad user input (a config key or value, an argument, a data file), with a message that
    names the file, key or value and what was expected.

    Every command prints it as one line and exits with status 2, without a traceback. A
    ``ValueError``, so code that catches ``ValueError`` keeps working. Raise it only where input
    is checked; a failed operation inside the code is a bug and keeps its traceback.
    """
